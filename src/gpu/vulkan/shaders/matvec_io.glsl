// What every matvec shader body shares: its push constants and which rows it reads and writes.
// Plain (matvec_<type>.comp): token gl_WorkGroupID.y's activations times weight rows 0..n-1.
// EXPERT_IDS (matvec_<type>_id.comp, a mixture of experts): the weights are every expert's
// matrix stacked (expert e's rows from e * n), and gl_WorkGroupID.y is a (token, slot) pair q
// taking expert `expert` (>= 0: the same for every pair) or ids[ids_off + q] (the device's
// routing); its activations are row q (x_per_pair) or row q / n_used (the token's), and it
// writes output row q.
layout(push_constant) uniform P {
  uint k; uint n; uint scale_off; uint x_off; uint y_off; uint x_stride; uint y_stride;
#ifdef EXPERT_IDS
  uint n_used; uint x_per_pair; int expert; uint ids_off;
#endif
} p;

#ifdef EXPERT_IDS
layout(std430, binding = 3) readonly buffer Ids { int ids[]; };
uint x_row() { return p.x_per_pair != 0u ? gl_WorkGroupID.y : gl_WorkGroupID.y / p.n_used; }
uint expert_row0() {
  return uint(p.expert >= 0 ? p.expert : ids[p.ids_off + gl_WorkGroupID.y]) * p.n;
}
#else
uint x_row() { return gl_WorkGroupID.y; }
uint expert_row0() { return 0u; }
#endif
