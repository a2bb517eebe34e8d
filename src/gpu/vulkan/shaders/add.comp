#version 450
// y = a + b over `count` floats, as ops::add.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint count; uint a_off; uint b_off; uint y_off; } p;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256)
    y[p.y_off + i] = a[p.a_off + i] + b[p.b_off + i];
}
