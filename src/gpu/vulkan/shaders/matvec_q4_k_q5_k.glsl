// The body of matvec_q4_k/q5_k.comp and their _id twins (matvec_io.glsl), with Q5 0 or 1.
// Q4_K weights as stored (a 144-byte super-block is 36 words: d|dmin, 12 scale bytes, 128
// code bytes) at 36 * (row * nb + b), against Q8_K-quantized activations (quantize_q8.comp:
// codes from word 0, one f32 scale per 256 from word k / 4), as the CPU's dot:
// d_a * (d * sum(sc * sum(q * a)) - dmin * sum(m * sum(a))) per super-block. One invocation
// per 32-element sub-block: 64 of them cover 8 super-blocks; a super-block's 8 integer sums
// meet in shared memory so its float terms are formed once, as on the CPU (the d and dmin
// terms nearly cancel: rounding each sub-block's on its own costs precision).
// Q5_K (a 176-byte super-block is 44 words: d|dmin, 12 scale bytes, 32 high-bit bytes, 128
// low-nibble bytes): element l of sub-block s is its nibble plus 16 * bit s of high-bit byte l.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer A { uint a[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "blocks.glsl"

// The quantized activations of x_row() (quantize_q8.comp's rows).
uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

#if Q5
const uint kWords = 44u;  // per super-block
const uint kCodes = 12u;  // word of the first low-nibble byte
#else
const uint kWords = 36u;
const uint kCodes = 4u;
#endif


// sc * sum(q * a) and m * sum(a) over sub-block s of super-block b of `row`.
ivec2 sub_block(uint row, uint nb, uint b, uint s) {
  const uint base = kWords * (row * nb + b);
  const uint sb = base + 1;  // scale bytes 0..11
  const uvec2 scm = k_scale_min(sb, s);
  const uint sc = scm.x, m = scm.y;
  const uint qb = base + kCodes + 8 * (s / 2);  // the 32 nibble bytes of this pair of sub-blocks
  const uint shift = 4 * (s % 2);
  const uint ab = 64 * b + 8 * s;               // the sub-block's activation code words
  int dot = 0, asum = 0;
  for (uint i = 0; i < 8; i++) {
    const uint q = w[qb + i];
#if Q5
    const uint hb = w[base + 4 + i];  // high-bit bytes 4i..4i+3
#else
    const uint hb = 0u;
#endif
    const int qa = int(a[abase() + ab + i]);
    for (uint j = 0; j < 4; j++) {
      const int av = bitfieldExtract(qa, int(8 * j), 8);
      const uint code = ((q >> (8 * j + shift)) & 15u) | (((hb >> (8 * j + s)) & 1u) << 4);
      dot += int(code) * av;
      asum += av;
    }
  }
  return ivec2(int(sc) * dot, int(m) * asum);
}

ivec2 unit_sums(uint row, uint nb, uint b, uint u) { return sub_block(row, nb, b, u); }

float super_term(uint row, uint nb, uint b, float da, int is, int ms) {
  const vec2 dm = unpackHalf2x16(w[kWords * (row * nb + b)]);
  return da * (dm.x * float(is) - dm.y * float(ms));
}

#define K_MINS 1
#include "matvec_k_main.glsl"
