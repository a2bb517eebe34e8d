// The body of matvec_iq4_xs.comp and matvec_iq4_xs_id.comp (matvec_io.glsl).
// IQ4_XS weights as stored (a 136-byte super-block is 34 words: d | scales_h, 4 bytes of
// scales_l, 128 code bytes) at 34 * (row * nb + b), against Q8_K-quantized activations
// (quantize_q8.comp), as the CPU's dot: d_a * d * sum((ls - 32) * sum(kIq4nlValues[q] * a))
// per super-block, sub-block i's 6-bit ls the nibble i % 2 of scales_l[i / 2] with bits
// 2i..2i+1 of scales_h above it; its element j < 16 the low nibble of code byte 16i + j,
// element j + 16 the high nibble. One invocation per sub-block; a super-block's 8 integer
// sums meet in shared memory.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer A { uint a[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "blocks.glsl"

uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

const uint kWords = 34u;

int sub_block(uint row, uint nb, uint b, uint i) {
  const uint base = kWords * (row * nb + b);
  const int ls = iq4xs_scale(base, i);
  int dot = 0;
  for (uint q = 0; q < 4; q++) {
    const uint c = w[base + 2 + 4 * i + q];  // code bytes 16i + 4q .. 16i + 4q + 3
    const int alo = int(a[abase() + 64 * b + 8 * i + q]);
    const int ahi = int(a[abase() + 64 * b + 8 * i + 4 + q]);
    for (uint t = 0; t < 4; t++) {
      const uint byte = (c >> (8 * t)) & 0xffu;
      dot += kIq4nlValues[byte & 15u] * bitfieldExtract(alo, int(8 * t), 8) +
             kIq4nlValues[byte >> 4] * bitfieldExtract(ahi, int(8 * t), 8);
    }
  }
  return ls * dot;
}

ivec2 unit_sums(uint row, uint nb, uint b, uint u) { return ivec2(sub_block(row, nb, b, u), 0); }

float super_term(uint row, uint nb, uint b, float da, int is, int ms) {
  return da * unpackHalf2x16(w[kWords * (row * nb + b)]).x * float(is);
}

#define K_MINS 0
#include "matvec_k_main.glsl"
