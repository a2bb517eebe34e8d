#version 450
// Query tokens' attention over their sequences' cached keys and values: token tok0 +
// gl_WorkGroupID.y, one head per workgroup x (grouped-query: head h reads KV head
// h / (n_head / n_kv)). Per token, `table` holds (TokenTable in vec_ops.h) where its
// sequence's cells start in the caches (float kv_off; cell j: n_kv heads of hd floats,
// kv_stride floats apart) and in `pos`, its position pos_q and the cells to look at (n_keys).
// As nn::attention: a cell is visible when its position is <= pos_q (and within the last
// `window` positions when window > 0); scores q.k * scale, soft-capped when softcap > 0; sinks
// (has_sinks) join the denominator; out = softmax . V. One pass with an online softmax: the
// keys go by in blocks of 64 (one score per invocation), the running maximum rescales the
// sum and the output so far, and each invocation keeps output dims lid, lid + 64, ... (hd <=
// 256): no scores leave the workgroup, whatever the context length.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float kc[]; };
layout(std430, binding = 2) readonly buffer V { float vc[]; };
layout(std430, binding = 3) readonly buffer S { float sinks[]; };
layout(std430, binding = 4) buffer O { float o[]; };
layout(std430, binding = 5) readonly buffer Pos { int pos[]; };
layout(std430, binding = 6) readonly buffer Table { int table[]; };
layout(push_constant) uniform P {
  uint n_head; uint n_kv; uint hd; uint kv_stride; uint window; uint has_sinks; uint q_off;
  uint q_stride; uint o_off; uint o_stride; uint tok0; float scale; float softcap;
} p;
const uint kTableInts = 6u;  // cell_off, kv_off, pos_off, pos_q, n_keys, (unused)
const float kNone = -3.402823466e38;  // below every score: a masked cell
shared float red[64];
shared float weight[64];  // the current block's exp(score - running max)

// The workgroup's max (op 0) or sum (op 1) of every invocation's v.
float reduce(float v, uint op) {
  const uint lid = gl_LocalInvocationID.x;
  red[lid] = v;
  barrier();
  for (uint h = 32; h > 0; h >>= 1) {
    if (lid < h) red[lid] = op == 0u ? max(red[lid], red[lid + h]) : red[lid] + red[lid + h];
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

uint kv_off, pos_off, n_keys;
int pos_q;

bool visible(uint j) {
  const int pj = pos[pos_off + j];
  return pj <= pos_q && (p.window == 0u || pos_q - pj < int(p.window));
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint t = p.tok0 + gl_WorkGroupID.y;
  kv_off = uint(table[kTableInts * t + 1]);
  pos_off = uint(table[kTableInts * t + 2]);
  pos_q = table[kTableInts * t + 3];
  n_keys = uint(table[kTableInts * t + 4]);
  for (uint h = gl_WorkGroupID.x; h < p.n_head; h += gl_NumWorkGroups.x) {
    const uint kvh = h / (p.n_head / p.n_kv);
    const uint qo = p.q_off + t * p.q_stride + h * p.hd;
    float m = kNone, l = 0.0;
    float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
    for (uint j0 = 0; j0 < n_keys; j0 += 64) {
      const uint j = j0 + lid;
      float s = kNone;
      if (j < n_keys && visible(j)) {
        const uint ko = kv_off + j * p.kv_stride + kvh * p.hd;
        s = 0.0;
        for (uint d = 0; d < p.hd; d++) s += q[qo + d] * kc[ko + d];
        s *= p.scale;
        if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
      }
      const float mb = max(m, reduce(s, 0u));
      if (mb == kNone) continue;  // nothing visible so far (uniform: every invocation skips)
      const float e = s == kNone ? 0.0 : exp(s - mb);
      weight[lid] = e;
      const float alpha = m == kNone ? 0.0 : exp(m - mb);
      l = l * alpha + reduce(e, 1u);  // reduce's barriers also publish weight[]
      const uint nb = min(64u, n_keys - j0);
      for (uint i = 0; i < 4; i++) {
        const uint d = lid + 64 * i;
        if (d >= p.hd) break;
        float a = acc[i] * alpha;
        for (uint jj = 0; jj < nb; jj++)
          a += weight[jj] * vc[kv_off + (j0 + jj) * p.kv_stride + kvh * p.hd + d];
        acc[i] = a;
      }
      m = mb;
      barrier();  // weight[] is rewritten by the next block
    }
    if (p.has_sinks != 0u) {  // the sink joins the denominator only
      const float mb = max(m, sinks[h]);
      const float alpha = m == kNone ? 0.0 : exp(m - mb);
      l = l * alpha + exp(sinks[h] - mb);
      for (uint i = 0; i < 4; i++) acc[i] *= alpha;
    }
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // a fully masked row: zeros, as the CPU's
    for (uint i = 0; i < 4; i++) {
      const uint d = lid + 64 * i;
      if (d < p.hd) o[p.o_off + t * p.o_stride + h * p.hd + d] = acc[i] * inv;
    }
  }
}
