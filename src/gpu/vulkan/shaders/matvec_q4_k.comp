#version 450
// Q4_K rows as stored (a 144-byte super-block is 36 words: d|dmin, 12 scale bytes, 128 code
// bytes), super-block (row, b) at words 36 * (row * nb + b). One invocation per 32-element
// sub-block: 64 of them cover 8 super-blocks. See matvec_q4_0.comp.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint k; uint n; uint scale_off; uint x_off; uint y_off; } p;
shared float part[64];

uint byte_at(uint base, uint i) { return (w[base + i / 4] >> (8 * (i % 4))) & 0xffu; }

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint nb = p.k / 256;
  for (uint row = gl_WorkGroupID.x; row < p.n; row += gl_NumWorkGroups.x) {
    float acc = 0.0;
    for (uint u = lid; u < nb * 8; u += 64) {
      const uint b = u / 8, s = u % 8;
      const uint base = 36 * (row * nb + b);
      const vec2 dm = unpackHalf2x16(w[base]);
      const uint sb = base + 1;  // scale bytes 0..11
      uint sc, m;
      if (s < 4) {
        sc = byte_at(sb, s) & 63u;
        m = byte_at(sb, s + 4) & 63u;
      } else {
        sc = (byte_at(sb, s + 4) & 15u) | ((byte_at(sb, s - 4) >> 6) << 4);
        m = (byte_at(sb, s + 4) >> 4) | ((byte_at(sb, s) >> 6) << 4);
      }
      const uint qb = base + 4 + 8 * (s / 2);  // the 32 code bytes of this pair of sub-blocks
      const uint shift = 4 * (s % 2);
      const uint xb = p.x_off + b * 256 + s * 32;
      float dot = 0.0, xs = 0.0;
      for (uint i = 0; i < 8; i++) {
        const uint q = w[qb + i];
        for (uint j = 0; j < 4; j++) {
          const float xv = x[xb + 4 * i + j];
          dot += float((q >> (8 * j + shift)) & 15u) * xv;
          xs += xv;
        }
      }
      acc += dm.x * float(sc) * dot - dm.y * float(m) * xs;
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
