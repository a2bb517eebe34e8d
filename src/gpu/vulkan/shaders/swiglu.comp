#version 450
// out = silu(gate) * up over `count` floats, as ops::swiglu.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform P { uint count; uint g_off; uint u_off; uint o_off; } p;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256) {
    const float v = g[p.g_off + i];
    o[p.o_off + i] = v / (1.0 + exp(-v)) * u[p.u_off + i];
  }
}
