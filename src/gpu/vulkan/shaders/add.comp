#version 450
// y = a + b over `count` floats of row gl_WorkGroupID.y of each (rows a_stride, b_stride,
// y_stride floats apart; b_stride 0 adds the same b to every row: a bias), as ops::add.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint count; uint a_off; uint b_off; uint y_off; uint a_stride; uint b_stride; uint y_stride;
} p;

void main() {
  const uint r = gl_WorkGroupID.y;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256)
    y[p.y_off + r * p.y_stride + i] = a[p.a_off + r * p.a_stride + i] + b[p.b_off + r * p.b_stride + i];
}
