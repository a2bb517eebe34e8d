// The 32-element types with an offset, a minimum, a 5th bit or a value table (Q4_1, Q5_0,
// Q5_1, MXFP4, IQ4_NL), included by matvec_q4_1/q5_0/q5_1/mxfp4/iq4_nl.comp with TYPE 41,
// 50, 51, 4 or 40. Blocks as stored, each
// padded to SLOT words, block (row, b) at SLOT * (row * nb + b), against Q8_0-quantized
// activations (quantize_q8.comp), as the CPU's dots: per block d_w * d_a * sum(q * a), plus
// m * d_a * sum(a) for the types with a minimum, q = nibble (+ 16 * its qh bit) (- 16 for
// Q5_0); MXFP4: q = kMxfp4Values[nibble] (the e2m1 values doubled) and d_w = 2^(e - 128)
// from the block's e8m0 byte; IQ4_NL: q = kIq4nlValues[nibble]. Element j < 16 is the low nibble of code byte j, element
// j + 16 its high nibble.
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
      const uint base = SLOT * (row * nb + b);
      const vec2 dm = legacy_dm(base);
      const uint qh = legacy_qh(base);
      int sumi = 0, suma = 0;
      for (uint j = 0; j < 16; j++) {
        const uint q = byte_at(base, CODES + j);
        const int lo = legacy_value((q & 15u) | (((qh >> j) & 1u) << 4));
        const int hi = legacy_value((q >> 4) | (((qh >> (j + 16)) & 1u) << 4));
        const int alo = bitfieldExtract(int(a[abase() + 8 * b + j / 4]), int(8 * (j % 4)), 8);
        const int ahi = bitfieldExtract(int(a[abase() + 8 * b + 4 + j / 4]), int(8 * (j % 4)), 8);
        sumi += lo * alo + hi * ahi;
        suma += alo + ahi;
      }
      const float da = uintBitsToFloat(a[abase() + p.k / 4 + b]);
#if TYPE == 50 || TYPE == 4 || TYPE == 40
      acc += dm.x * da * float(sumi);
#else
      acc += dm.x * da * float(sumi) + dm.y * da * float(suma);
#endif
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
