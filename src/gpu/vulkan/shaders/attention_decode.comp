#version 450
// Query tokens' attention over their sequences' cached keys and values: token tok0 +
// gl_WorkGroupID.y, one head per workgroup x (grouped-query: head h reads KV head
// h / (n_head / n_kv)). Per token, `table` holds (TokenTable in vec_ops.h) where its
// sequence's cells start in the caches (float kv_off; cell j: n_kv heads of hd floats,
// kv_stride floats apart) and in `pos`, its position pos_q and the cells to look at (n_keys).
// As nn::attention: a cell is visible when its position is <= pos_q (and within the last
// `window` positions when window > 0); scores q.k * scale, soft-capped when softcap > 0; sinks
// (has_sinks) join the denominator; out = softmax . V. Scores go through `scratch`
// (scratch_stride floats per token of the dispatch, n_keys per head).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float kc[]; };
layout(std430, binding = 2) readonly buffer V { float vc[]; };
layout(std430, binding = 3) readonly buffer S { float sinks[]; };
layout(std430, binding = 4) buffer T { float scratch[]; };
layout(std430, binding = 5) buffer O { float o[]; };
layout(std430, binding = 6) readonly buffer Pos { int pos[]; };
layout(std430, binding = 7) readonly buffer Table { int table[]; };
layout(push_constant) uniform P {
  uint n_head; uint n_kv; uint hd; uint kv_stride; uint window; uint has_sinks; uint q_off;
  uint q_stride; uint o_off; uint o_stride; uint tok0; uint scratch_stride; float scale;
  float softcap;
} p;
const uint kTableInts = 6u;  // cell_off, kv_off, pos_off, pos_q, n_keys, (unused)
shared float red[64];

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
    const uint so = gl_WorkGroupID.y * p.scratch_stride + h * n_keys;
    float m = -3.402823466e38;
    for (uint j = lid; j < n_keys; j += 64) {
      if (!visible(j)) continue;
      const uint ko = kv_off + j * p.kv_stride + kvh * p.hd;
      float s = 0.0;
      for (uint d = 0; d < p.hd; d++) s += q[qo + d] * kc[ko + d];
      s *= p.scale;
      if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
      scratch[so + j] = s;
      m = max(m, s);
    }
    m = reduce(m, 0u);
    if (p.has_sinks != 0u) m = max(m, sinks[h]);
    float sum = 0.0;
    for (uint j = lid; j < n_keys; j += 64) {
      const float e = visible(j) ? exp(scratch[so + j] - m) : 0.0;
      scratch[so + j] = e;
      sum += e;
    }
    sum = reduce(sum, 1u);
    if (p.has_sinks != 0u) sum += exp(sinks[h] - m);
    memoryBarrierBuffer();
    barrier();
    const float inv = 1.0 / sum;
    for (uint d = lid; d < p.hd; d += 64) {
      float acc = 0.0;
      for (uint j = 0; j < n_keys; j++)
        acc += scratch[so + j] * vc[kv_off + j * p.kv_stride + kvh * p.hd + d];
      o[p.o_off + t * p.o_stride + h * p.hd + d] = acc * inv;
    }
    barrier();
  }
}
