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

// The quantized activations of x_row() (quantize_q8.comp's rows).
uint abase() { return x_row() * (p.k / 4 + p.k / 32); }
#include "row_sum.glsl"

#if TYPE == 4
const uint SLOT = 5u, CODES = 1u;   // e, 16 code bytes
const int kValues[16] = int[16](0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
#elif TYPE == 40
const uint SLOT = 5u, CODES = 2u;   // d, 16 code bytes
const int kValues[16] =
    int[16](-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
#elif TYPE == 41
const uint SLOT = 5u, CODES = 4u;   // d|m, 16 code bytes
#elif TYPE == 50
const uint SLOT = 6u, CODES = 6u;   // d, qh (bytes 2..5), 16 code bytes
#else
const uint SLOT = 6u, CODES = 8u;   // d|m, qh, 16 code bytes
#endif

uint byte_at(uint base, uint i) { return (w[base + i / 4] >> (8 * (i % 4))) & 0xffu; }

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint nb = p.k / 32;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint b = lid; b < nb; b += 64) {
      const uint base = SLOT * (row * nb + b);
#if TYPE == 4
      const uint e = w[base] & 0xffu;  // 2^(e - 128), exact below e = 2 too
      const vec2 dm = vec2(uintBitsToFloat(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23)), 0.0);
#else
      const vec2 dm = unpackHalf2x16(w[base]);
#endif
#if TYPE == 41 || TYPE == 4 || TYPE == 40
      const uint qh = 0u;
#elif TYPE == 50
      const uint qh = (w[base] >> 16) | (w[base + 1] << 16);
#else
      const uint qh = w[base + 1];
#endif
      int sumi = 0, suma = 0;
      for (uint j = 0; j < 16; j++) {
        const uint q = byte_at(base, CODES + j);
        int lo = int((q & 15u) | (((qh >> j) & 1u) << 4));
        int hi = int((q >> 4) | (((qh >> (j + 16)) & 1u) << 4));
#if TYPE == 50
        lo -= 16;
        hi -= 16;
#elif TYPE == 4 || TYPE == 40
        lo = kValues[lo];
        hi = kValues[hi];
#endif
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
