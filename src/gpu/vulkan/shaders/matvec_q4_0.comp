#version 450
// y[t][row] = sum over k of dequant(W[row]) * x[t] for one weight row per workgroup pass.
// Q4_0 in the upload layout (gpu/vulkan/matvec.cpp): 4 words of nibbles per block, block
// (row, b) at words 4 * (row * nb + b); the fp16 scales two to a word from scale_off.
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
      for (uint j = 0; j < 4; j++) {
        const uint q = w[4 * blk + j];
        for (uint i = 0; i < 4; i++) {
          const uint byte = (q >> (8 * i)) & 0xffu;
          const uint e = 4 * j + i;
          s += float(int(byte & 15u) - 8) * x[xb + e] + float(int(byte >> 4) - 8) * x[xb + e + 16];
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
