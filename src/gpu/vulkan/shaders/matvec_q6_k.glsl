// The body of matvec_q6_k.comp and matvec_q6_k_id.comp (matvec_io.glsl).
// Q6_K weights in the upload layout (each 210-byte super-block padded to 53 words: ql 32
// words, qh 16, scales 4, d in the low half of the last) at 53 * (row * nb + b), against
// Q8_K-quantized activations (see matvec_q4_k_q5_k.glsl): d_a * d * sum(scale * sum(q * a)). One
// invocation per 32 elements (half h, quarter c): element 128h + 32c + l takes the low
// (c < 2) or high nibble of ql[64h + l + 32 (c % 2)] and bits 2c..2c+1 of qh[32h + l],
// minus 32, with scale (128h + 32c + l) / 16.
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
  const uint nb = p.k / 256;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint u = lid; u < nb * 8; u += 64) {
      const uint b = u / 8, hc = u % 8, h = hc / 4, c = hc % 4;
      const uint base = 53 * (row * nb + b);
      const float d = unpackHalf2x16(w[base + 52]).x;
      const uint e0 = 128 * h + 32 * c;
      const int s0 = bitfieldExtract(int(byte_at(base + 48, e0 / 16)), 0, 8);
      const int s1 = bitfieldExtract(int(byte_at(base + 48, e0 / 16 + 1)), 0, 8);
      const uint ab = 64 * b + e0 / 4;
      int lo = 0, hi = 0;
      for (uint l = 0; l < 32; l++) {
        const uint ql = byte_at(base, 64 * h + l + 32 * (c % 2));
        const uint qh = byte_at(base + 32, 32 * h + l);
        const uint nib = c < 2 ? (ql & 15u) : (ql >> 4);
        const int q = int(nib | (((qh >> (2 * c)) & 3u) << 4)) - 32;
        const int av = bitfieldExtract(int(a[abase() + ab + l / 4]), int(8 * (l % 4)), 8);
        if (l < 16) lo += q * av; else hi += q * av;
      }
      acc += uintBitsToFloat(a[abase() + p.k / 4 + b]) * d * float(s0 * lo + s1 * hi);
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
