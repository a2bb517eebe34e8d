#version 450
// Q8_0 in the upload layout: 8 words of signed bytes per block, block (row, b) at words
// 8 * (row * nb + b); the fp16 scales two to a word from scale_off. See matvec_q4_0.comp.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint k; uint n; uint scale_off; uint x_off; uint y_off; } p;
shared float part[64];

float scale_of(uint i) {
  vec2 h = unpackHalf2x16(w[p.scale_off + i / 2]);
  return (i & 1u) == 0u ? h.x : h.y;
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint nb = p.k / 32;
  for (uint row = gl_WorkGroupID.x; row < p.n; row += gl_NumWorkGroups.x) {
    float acc = 0.0;
    for (uint b = lid; b < nb; b += 64) {
      const uint blk = row * nb + b;
      const uint xb = p.x_off + b * 32;
      float s = 0.0;
      for (uint j = 0; j < 8; j++) {
        const int q = int(w[8 * blk + j]);
        for (uint i = 0; i < 4; i++) {
          s += float(bitfieldExtract(q, int(8 * i), 8)) * x[xb + 4 * j + i];
        }
      }
      acc += scale_of(blk) * s;
    }
    part[lid] = acc;
    barrier();
    for (uint h = 32; h > 0; h >>= 1) {
      if (lid < h) part[lid] += part[lid + h];
      barrier();
    }
    if (lid == 0) y[p.y_off + row] = part[0];
    barrier();
  }
}
