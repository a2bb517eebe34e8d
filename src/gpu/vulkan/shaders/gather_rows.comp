#version 450
// y row r = x row idx[idx_off + r] (count floats each; x rows x_stride floats apart, y rows
// count): the rows of the tokens routed to one expert, gathered for its matrices.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint count; uint x_off; uint x_stride; uint idx_off; uint y_off;
} p;

void main() {
  const uint r = gl_WorkGroupID.y;
  const uint src = p.x_off + uint(idx[p.idx_off + r]) * p.x_stride;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256)
    y[p.y_off + r * p.count + i] = x[src + i];
}
