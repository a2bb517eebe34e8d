#version 450
// Activations to 8-bit codes exactly as the CPU quantizes them for the quantized dots (ops
// quantize_row_q8_0 / q8_k): per block of `block` floats (32 or 256) d = amax / 127 and
// code = round-half-away(x / d) clamped to +-127; Q8_0's d is rounded to fp16 (round_d),
// Q8_K's stays f32. Out: the codes four to a word from word 0, then one f32 d per block from
// word k / 4; token gl_WorkGroupID.y reads x from x_off + y * x_stride and writes its row at
// word y * (k / 4 + k / 32). One workgroup per block, four codes per invocation.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer A { uint a[]; };
layout(push_constant) uniform P { uint k; uint block; uint x_off; uint round_d; uint x_stride; } p;
shared float red[64];

// a / b rounded as the host's IEEE division (GLSL's may be off by an ulp): one correction
// step with the exact residual from fma.
float div_rn(float a, float b) {
  const float q = a / b;
  const float r = fma(-q, b, a);
  return fma(r, 1.0 / b, q);
}

// round half away from zero, exactly (adding 0.5 in float could round up first)
int round_away(float s) {
  const float t = floor(abs(s));
  const int q = int(t) + (abs(s) - t >= 0.5 ? 1 : 0);
  return s < 0.0 ? -q : q;
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint per = p.block / 4;  // invocations with codes
  const uint xo = p.x_off + gl_WorkGroupID.y * p.x_stride;
  const uint ao = gl_WorkGroupID.y * (p.k / 4 + p.k / 32);
  for (uint b = gl_WorkGroupID.x; b < p.k / p.block; b += gl_NumWorkGroups.x) {
    const uint e0 = b * p.block + 4 * lid;
    vec4 v = vec4(0.0);
    if (lid < per) v = vec4(x[xo + e0], x[xo + e0 + 1], x[xo + e0 + 2], x[xo + e0 + 3]);
    red[lid] = max(max(abs(v.x), abs(v.y)), max(abs(v.z), abs(v.w)));
    barrier();
    for (uint h = 32; h > 0; h >>= 1) {
      if (lid < h) red[lid] = max(red[lid], red[lid + h]);
      barrier();
    }
    const float d = div_rn(red[0], 127.0);
    barrier();
    const float id = d != 0.0 ? div_rn(1.0, d) : 0.0;
    if (lid < per) {
      uint word = 0u;
      for (uint i = 0; i < 4; i++) {
        const float s = v[i] * id;
        const int q = clamp(round_away(s), -127, 127);
        word |= (uint(q) & 0xffu) << (8 * i);
      }
      a[ao + e0 / 4] = word;
    }
    if (lid == 0) {
      const float dd = p.round_d != 0u ? unpackHalf2x16(packHalf2x16(vec2(d, 0.0))).x : d;
      a[ao + p.k / 4 + b] = floatBitsToUint(dd);
    }
  }
}
