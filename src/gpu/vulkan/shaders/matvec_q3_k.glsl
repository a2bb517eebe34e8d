// The body of matvec_q3_k.comp and matvec_q3_k_id.comp (matvec_io.glsl).
// Q3_K weights in the upload layout (a 110-byte super-block padded to 28 words: hmask 32
// bytes, codes 64 bytes, 12 bytes of 6-bit scales, d in the low half of the last word) at
// 28 * (row * nb + b), against Q8_K-quantized activations (quantize_q8.comp), as the CPU's
// dot: d_a * d * sum((sc - 32) * sum(q * a)) per super-block. Element 128h + 32j + l has
// code bits 2j..2j+1 of code byte 32h + l, less 4 unless bit 4h + j of hmask byte l is set,
// and group 8h + 2j + l / 16, whose scale is the low or high nibble (group / 8) of scale
// byte group % 8 with bits 2 (group / 4) .. of byte 8 + group % 4 above it. One invocation
// per 32 elements (h, j); a super-block's 8 integer sums meet in shared memory.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer A { uint a[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "blocks.glsl"

uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

const uint kWords = 28u;


// sc * sum(q * a) over the 32 elements (h, j) of super-block b of `row`.
int chunk(uint row, uint nb, uint b, uint u) {
  const uint h = u / 4, j = u % 4;
  const uint base = kWords * (row * nb + b);
  const uint ab = 64 * b + 32 * h + 8 * j;
  int dot0 = 0, dot1 = 0;
  for (uint i = 0; i < 8; i++) {
    const uint q = w[base + 8 + 8 * h + i];  // code bytes 32h + 4i ..
    const uint m = w[base + i];              // hmask bytes 4i ..
    const int qa = int(a[abase() + ab + i]);
    for (uint t = 0; t < 4; t++) {
      const int av = bitfieldExtract(qa, int(8 * t), 8);
      const int high = int((m >> (8 * t + 4 * h + j)) & 1u);
      const int code = int((q >> (8 * t + 2 * j)) & 3u) - 4 + 4 * high;
      if (i < 4) dot0 += code * av; else dot1 += code * av;
    }
  }
  return q3k_scale(base, 8 * h + 2 * j) * dot0 + q3k_scale(base, 8 * h + 2 * j + 1) * dot1;
}

ivec2 unit_sums(uint row, uint nb, uint b, uint u) { return ivec2(chunk(row, nb, b, u), 0); }

float super_term(uint row, uint nb, uint b, float da, int is, int ms) {
  return da * unpackHalf2x16(w[kWords * (row * nb + b) + 27]).x * float(is);
}

#define K_MINS 0
#include "matvec_k_main.glsl"
