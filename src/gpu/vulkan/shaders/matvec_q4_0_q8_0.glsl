// The body of matvec_q4_0/q8_0.comp and their _id twins (matvec_io.glsl), with Q8 0 or 1.
// Q4_0 weights (the upload layout: 4 words of nibbles per block at 4 * (row * nb + b), byte j
// holding elements j (low) and j + 16 (high); fp16 scales two to a word from scale_off): as
// Q8_0's, with d_w * d_a * sum((q_w - 8) * q_a) per block.
// Q8_0 weights (the upload layout: 8 words of signed codes per block at 8 * (row * nb + b),
// the fp16 scales two to a word from scale_off) against Q8_0-quantized activations
// (quantize_q8.comp: codes from word 0, f32 block scales from word k / 4), as the CPU's dot:
// d_w * d_a * sum(q_w * q_a) per block. One workgroup per row pass.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer A { uint a[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "blocks.glsl"

// The quantized activations of x_row() (quantize_q8.comp's rows).
uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint nb = p.k / 32;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint b = lid; b < nb; b += 64) {
      const uint blk = row * nb + b;
      int s = 0;
#if Q8
      for (uint j = 0; j < 8; j++) {
        const int q = int(w[8 * blk + j]), qa = int(a[abase() + 8 * b + j]);
        for (int i = 0; i < 4; i++) s += bitfieldExtract(q, 8 * i, 8) * bitfieldExtract(qa, 8 * i, 8);
#else
      for (uint j = 0; j < 4; j++) {
        const uint q = w[4 * blk + j];
        const int lo = int(a[abase() + 8 * b + j]), hi = int(a[abase() + 8 * b + 4 + j]);
        for (uint i = 0; i < 4; i++) {
          const uint byte = (q >> (8 * i)) & 0xffu;
          s += (int(byte & 15u) - 8) * bitfieldExtract(lo, int(8 * i), 8) +
               (int(byte >> 4) - 8) * bitfieldExtract(hi, int(8 * i), 8);
        }
#endif
      }
      acc += q_scale(blk) * uintBitsToFloat(a[abase() + p.k / 4 + b]) * float(s);
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
