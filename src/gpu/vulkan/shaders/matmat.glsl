// Matrix-matrix products for prompts: y[t, r] = dot(row r of W, activation row t) for a tile
// of 32 rows x 32 tokens per workgroup, stepping along k 32 elements at a time. Each step
// expands the tile's weights to floats in shared memory (dequant16: 16 elements of one
// 32-element block per invocation) next to the activations of its 32 tokens, then every
// invocation accumulates a 4 x 4 block of outputs from them: a row's weights are read once
// per 32 tokens instead of once per token (the matvec shaders' token dimension).
// Included by matmat_<type>.comp with TYPE (the weight layout, as the matvec shader of that
// type uploads it) and ACT: 0 = float activations (x_off, x_stride apply); 32 or 256 = the
// activations quantize_q8.comp wrote (codes, then one f32 scale per block), which this
// multiplies as d_a * q_a: the CPU's and the matvec's products, summed in float (the minimums
// of Q4_1/Q5_1/Q4_K/Q5_K folded into each weight, not into a block-sum term).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { uint x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint k; uint n; uint scale_off; uint x_off; uint y_off; uint x_stride; uint y_stride;
  uint n_tokens; uint row0;  // row0: the first weight row (an expert of a stacked matrix)
} p;

const uint BM = 32u, BN = 32u, BK = 32u;
shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

#include "blocks.glsl"

#if TYPE == 3200  // F32 rows
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint base = row * p.k + kb * 32 + h * 16;
  for (uint j = 0; j < 16; j++) v[j] = uintBitsToFloat(w[base + j]);
}
#elif TYPE == 1600 || TYPE == 1601  // F16 / BF16 rows, two to a word
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint base = (row * p.k + kb * 32 + h * 16) / 2;
  for (uint i = 0; i < 8; i++) {
    const uint u = w[base + i];
#if TYPE == 1600
    const vec2 f = unpackHalf2x16(u);
    v[2 * i] = f.x;
    v[2 * i + 1] = f.y;
#else
    v[2 * i] = uintBitsToFloat(u << 16);
    v[2 * i + 1] = uintBitsToFloat(u & 0xffff0000u);
#endif
  }
}
#elif TYPE == 800 || TYPE == 400  // Q8_0 / Q4_0: code words per block, fp16 scales behind
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint blk = row * (p.k / 32) + kb;
  const float d = q_scale(blk);
  for (uint i = 0; i < 4; i++) {
#if TYPE == 800
    const int q = int(w[8 * blk + 4 * h + i]);
    for (uint j = 0; j < 4; j++) v[4 * i + j] = d * float(bitfieldExtract(q, int(8 * j), 8));
#else
    const uint q = w[4 * blk + i] >> (4 * h);  // element j < 16: low nibble of byte j
    for (uint j = 0; j < 4; j++) v[4 * i + j] = d * float(int((q >> (8 * j)) & 15u) - 8);
#endif
  }
}
#elif TYPE == 4 || TYPE == 40 || TYPE == 41 || TYPE == 50 || TYPE == 51
// MXFP4, IQ4_NL, Q4_1, Q5_0, Q5_1 as matvec_legacy.glsl reads them (blocks.glsl).
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint base = SLOT * (row * (p.k / 32) + kb);
  const vec2 dm = legacy_dm(base);  // dm.y: the block's minimum, 0 without one
  const uint qh = legacy_qh(base);
  for (uint j = 0; j < 16; j++) {
    const uint q = byte_at(base, CODES + j);
    const int c = legacy_value((h == 0u ? (q & 15u) : (q >> 4)) | (((qh >> (j + 16 * h)) & 1u) << 4));
    v[j] = dm.x * float(c) + dm.y;
  }
}
#elif TYPE == 1004 || TYPE == 1005  // Q4_K / Q5_K super-blocks (36 / 44 words) as stored
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint b = kb / 8, s = kb % 8;
#if TYPE == 1004
  const uint base = 36 * (row * (p.k / 256) + b), codes = base + 4;
#else
  const uint base = 44 * (row * (p.k / 256) + b), codes = base + 12;
#endif
  const uint sb = base + 1;  // scale bytes 0..11
  const uvec2 scm = k_scale_min(sb, s);
  const uint sc = scm.x, m = scm.y;
  const vec2 dm = unpackHalf2x16(w[base]);
  const float dsc = dm.x * float(sc), dmm = dm.y * float(m);
  const uint qb = codes + 8 * (s / 2), shift = 4 * (s % 2);
  for (uint j = 0; j < 16; j++) {
    const uint e = 16 * h + j;
    uint q = (w[qb + e / 4] >> (8 * (e % 4) + shift)) & 15u;
#if TYPE == 1005
    q |= ((byte_at(base + 4, e) >> s) & 1u) << 4;
#endif
    v[j] = dsc * float(q) - dmm;
  }
}
#elif TYPE == 1006  // Q6_K super-blocks padded to 53 words (see matvec_q6_k.glsl)
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint b = kb / 8, hh = (kb % 8) / 4, c = kb % 4;
  const uint base = 53 * (row * (p.k / 256) + b);
  const float d = unpackHalf2x16(w[base + 52]).x;
  const uint e0 = 128 * hh + 32 * c + 16 * h;  // all 16 elements share one scale
  const float ds = d * float(bitfieldExtract(int(byte_at(base + 48, e0 / 16)), 0, 8));
  for (uint j = 0; j < 16; j++) {
    const uint l = 16 * h + j;
    const uint ql = byte_at(base, 64 * hh + l + 32 * (c % 2));
    const uint qh = byte_at(base + 32, 32 * hh + l);
    const uint nib = c < 2 ? (ql & 15u) : (ql >> 4);
    v[j] = ds * float(int(nib | (((qh >> (2 * c)) & 3u) << 4)) - 32);
  }
}
#elif TYPE == 1002  // Q2_K super-blocks as stored (21 words, see matvec_q2_k.glsl)
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint b = kb / 8, hh = (kb % 8) / 4, j = kb % 4;
  const uint base = 21 * (row * (p.k / 256) + b);
  const vec2 dm = unpackHalf2x16(w[base + 20]);
  const uint g = byte_at(base, 8 * hh + 2 * j + h);  // this half's group: scale | min << 4
  const float dsc = dm.x * float(g & 15u), dmm = dm.y * float(g >> 4);
  for (uint i = 0; i < 16; i++)
    v[i] = dsc * float((byte_at(base + 4, 32 * hh + 16 * h + i) >> (2 * j)) & 3u) - dmm;
}
#elif TYPE == 1003  // Q3_K super-blocks padded to 28 words (see matvec_q3_k.glsl)
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint b = kb / 8, hh = (kb % 8) / 4, j = kb % 4;
  const uint base = 28 * (row * (p.k / 256) + b);
  const float ds = unpackHalf2x16(w[base + 27]).x * float(q3k_scale(base, 8 * hh + 2 * j + h));
  for (uint i = 0; i < 16; i++) {
    const uint l = 16 * h + i;
    const int high = int((byte_at(base, l) >> (4 * hh + j)) & 1u);
    v[i] = ds * float(int((byte_at(base + 8, 32 * hh + l) >> (2 * j)) & 3u) - 4 + 4 * high);
  }
}
#elif TYPE == 1104  // IQ4_XS super-blocks as stored (34 words, see matvec_iq4_xs.glsl)
void dequant16(uint row, uint kb, uint h, out float v[16]) {
  const uint b = kb / 8, i = kb % 8;
  const uint base = 34 * (row * (p.k / 256) + b);
  const float ds = unpackHalf2x16(w[base]).x * float(iq4xs_scale(base, i));
  for (uint jj = 0; jj < 16; jj++) {
    const uint q = byte_at(base + 2, 16 * i + jj);
    v[jj] = ds * float(kIq4nlValues[h == 0u ? (q & 15u) : (q >> 4)]);
  }
}
#else
#error "matmat.glsl: unknown TYPE"
#endif

// Elements 32 kb + 16 h .. + 15 of token t's activations.
void act16(uint t, uint kb, uint h, out float v[16]) {
#if ACT == 0
  const uint base = p.x_off + t * p.x_stride + kb * 32 + h * 16;
  for (uint j = 0; j < 16; j++) v[j] = uintBitsToFloat(x[base + j]);
#else
  const uint row = t * (p.k / 4 + p.k / 32);
  const float d = uintBitsToFloat(x[row + p.k / 4 + kb / (ACT / 32)]);
  for (uint i = 0; i < 4; i++) {
    const int q = int(x[row + 8 * kb + 4 * h + i]);
    for (uint j = 0; j < 4; j++) v[4 * i + j] = d * float(bitfieldExtract(q, int(8 * j), 8));
  }
#endif
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * BM, tok0 = gl_WorkGroupID.y * BN;
  const uint ty = lid / 8, tx = lid % 8;  // this invocation's rows 4 ty.., tokens 4 tx..
  const uint lr = lid / 2, lh = lid % 2;  // what it loads: half lh of row/token lr's block
  float acc[4][4];
  for (uint i = 0; i < 4; i++)
    for (uint j = 0; j < 4; j++) acc[i][j] = 0.0;
  float v[16];
  for (uint kb = 0; kb < p.k / BK; kb++) {
    if (row0 + lr < p.n) {
      dequant16(p.row0 + row0 + lr, kb, lh, v);
    } else {
      for (uint j = 0; j < 16; j++) v[j] = 0.0;
    }
    for (uint j = 0; j < 16; j++) As[16 * lh + j][lr] = v[j];
    if (tok0 + lr < p.n_tokens) {
      act16(tok0 + lr, kb, lh, v);
    } else {
      for (uint j = 0; j < 16; j++) v[j] = 0.0;
    }
    for (uint j = 0; j < 16; j++) Bs[16 * lh + j][lr] = v[j];
    barrier();
    for (uint kk = 0; kk < BK; kk++) {
      const vec4 a = vec4(As[kk][4 * ty], As[kk][4 * ty + 1], As[kk][4 * ty + 2], As[kk][4 * ty + 3]);
      const vec4 b = vec4(Bs[kk][4 * tx], Bs[kk][4 * tx + 1], Bs[kk][4 * tx + 2], Bs[kk][4 * tx + 3]);
      for (uint i = 0; i < 4; i++)
        for (uint j = 0; j < 4; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier();
  }
  for (uint i = 0; i < 4; i++) {
    const uint row = row0 + 4 * ty + i;
    if (row >= p.n) break;
    for (uint j = 0; j < 4; j++) {
      const uint t = tok0 + 4 * tx + j;
      if (t < p.n_tokens) y[p.y_off + t * p.y_stride + row] = acc[i][j];
    }
  }
}
