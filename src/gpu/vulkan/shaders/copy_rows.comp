#version 450
// y[y_off + r * y_stride + i] = x[x_off + r * x_stride + i] for i < count, r the row
// (gl_WorkGroupID.y): the columns of a fused projection's rows split into their own rows.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint count; uint x_off; uint y_off; uint x_stride; uint y_stride;
} p;

void main() {
  const uint r = gl_WorkGroupID.y;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256)
    y[p.y_off + r * p.y_stride + i] = x[p.x_off + r * p.x_stride + i];
}
