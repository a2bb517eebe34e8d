#version 450
// out row idx[idx_off + r] += wt[idx_off + r] * y row r (count floats each; out rows
// out_stride floats apart, y rows count), as ops::axpy: one expert's outputs weighted into
// the rows of the tokens routed to it (a token appears once per expert: no two rows collide).
// The table holds the token indices, then the weights as float bits from wt_off.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Yb { float y[]; };
layout(std430, binding = 1) readonly buffer I { int table[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform P {
  uint count; uint y_off; uint idx_off; uint wt_off; uint out_off; uint out_stride;
} p;

void main() {
  const uint r = gl_WorkGroupID.y;
  const uint dst = p.out_off + uint(table[p.idx_off + r]) * p.out_stride;
  const float wt = intBitsToFloat(table[p.wt_off + p.idx_off + r]);
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256)
    o[dst + i] += wt * y[p.y_off + r * p.count + i];
}
