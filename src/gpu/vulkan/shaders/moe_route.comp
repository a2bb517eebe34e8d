#version 450
// A mixture of experts' routing on the device, as nn::moe_route: for each token (one
// invocation each) the k experts with the largest router logits (gating 0) or probabilities
// (gating 1), in descending order, ties to the lower id, and their weights: softmax over the k selected logits (gating 0, gpt-oss), or
// the softmax over all experts' logits at the selected ones (gating 1), renormalized to sum 1
// when norm is set. Out, for pair q = token * k + j: the expert id at table[out_off + q] and
// its weight (float bits) at table[out_off + n_pairs + q].
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer L { float logits[]; };
layout(std430, binding = 1) buffer T { int table[]; };
layout(push_constant) uniform P {
  uint n_tokens; uint n_expert; uint k; uint gating; uint norm; uint l_off; uint out_off;
  uint n_pairs;
} p;

const uint kMaxUsed = 16u;

float mx = 0.0, total = 1.0;  // gating 1: the softmax's max and sum over every expert

// What the top-k ranks: the raw logit (gating 0) or, as the CPU does, the probability itself
// (gating 1), so logits whose probabilities round alike tie to the lower id there too.
float rank_of(uint l0, uint e) {
  return p.gating == 0u ? logits[l0 + e] : exp(logits[l0 + e] - mx) / total;
}

void main() {
  const uint t = gl_GlobalInvocationID.x;
  if (t >= p.n_tokens) return;
  const uint l0 = p.l_off + t * p.n_expert;
  if (p.gating != 0u) {
    mx = logits[l0];
    for (uint e = 1; e < p.n_expert; e++) mx = max(mx, logits[l0 + e]);
    total = 0.0;
    for (uint e = 0; e < p.n_expert; e++) total += exp(logits[l0 + e] - mx);
  }
  int sel[kMaxUsed];
  float best_rank[kMaxUsed];
  for (uint j = 0; j < p.k; j++) {
    int best = -1;
    float br = 0.0;
    for (uint e = 0; e < p.n_expert; e++) {
      bool taken = false;
      for (uint i = 0; i < j; i++) taken = taken || sel[i] == int(e);
      if (taken) continue;
      const float r = rank_of(l0, e);
      if (best < 0 || r > br) {
        best = int(e);
        br = r;
      }
    }
    sel[j] = best;
    best_rank[j] = br;
  }
  float wt[kMaxUsed];
  if (p.gating == 0u) {  // softmax over the selected logits (sel[0] holds the largest)
    float sum = 0.0;
    for (uint j = 0; j < p.k; j++) sum += wt[j] = exp(best_rank[j] - best_rank[0]);
    for (uint j = 0; j < p.k; j++) wt[j] /= sum;
  } else {  // the probabilities of the selected
    float picked = 0.0;
    for (uint j = 0; j < p.k; j++) picked += wt[j] = best_rank[j];
    if (p.norm != 0u && picked > 0.0)
      for (uint j = 0; j < p.k; j++) wt[j] /= picked;
  }
  for (uint j = 0; j < p.k; j++) {
    table[p.out_off + t * p.k + j] = sel[j];
    table[p.out_off + p.n_pairs + t * p.k + j] = floatBitsToInt(wt[j]);
  }
}
