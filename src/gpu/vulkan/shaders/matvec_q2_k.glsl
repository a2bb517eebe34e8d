// The body of matvec_q2_k.comp and matvec_q2_k_id.comp (matvec_io.glsl).
// Q2_K weights as stored (an 84-byte super-block is 21 words: 16 scale bytes, low nibble the
// scale and high nibble the min of a 16-element group; 64 code bytes; d|dmin) at
// 21 * (row * nb + b), against Q8_K-quantized activations (quantize_q8.comp), as the CPU's
// dot: d_a * (d * sum(sc * sum(q * a)) - dmin * sum(m * sum(a))) per super-block. Element
// 128h + 32j + l has code bits 2j..2j+1 of code byte 32h + l and group 8h + 2j + l / 16.
// One invocation per 32 elements (h, j); a super-block's 8 integer sums meet in shared
// memory so its float terms are formed once (the d and dmin terms nearly cancel).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer A { uint a[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "blocks.glsl"

uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

const uint kWords = 21u;


// sc * sum(q * a) and m * sum(a) over the 32 elements (h, j) of super-block b of `row`.
ivec2 chunk(uint row, uint nb, uint b, uint u) {
  const uint h = u / 4, j = u % 4;
  const uint base = kWords * (row * nb + b);
  const uint g0 = byte_at(base, 8 * h + 2 * j), g1 = byte_at(base, 8 * h + 2 * j + 1);
  const uint ab = 64 * b + 32 * h + 8 * j;  // the chunk's activation code words
  int dot0 = 0, dot1 = 0, sum0 = 0, sum1 = 0;
  for (uint i = 0; i < 8; i++) {
    const uint q = w[base + 4 + 8 * h + i];  // code bytes 32h + 4i .. 32h + 4i + 3
    const int qa = int(a[abase() + ab + i]);
    for (uint t = 0; t < 4; t++) {
      const int av = bitfieldExtract(qa, int(8 * t), 8);
      const int code = int((q >> (8 * t + 2 * j)) & 3u);
      if (i < 4) { dot0 += code * av; sum0 += av; } else { dot1 += code * av; sum1 += av; }
    }
  }
  return ivec2(int(g0 & 15u) * dot0 + int(g1 & 15u) * dot1,
               int(g0 >> 4) * sum0 + int(g1 >> 4) * sum1);
}

ivec2 unit_sums(uint row, uint nb, uint b, uint u) { return chunk(row, nb, b, u); }

float super_term(uint row, uint nb, uint b, float da, int is, int ms) {
  const vec2 dm = unpackHalf2x16(w[kWords * (row * nb + b) + 20]);
  return da * (dm.x * float(is) - dm.y * float(ms));
}

#define K_MINS 1
#include "matvec_k_main.glsl"
