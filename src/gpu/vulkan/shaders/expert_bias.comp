#version 450
// o row q += its expert's slice of a stacked bias: o[o_off + q * width + i] +=
// b[b_off + table[ids_off + q] * width + i] (the ids moe_route.comp wrote), q < n_pairs.
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer T { int table[]; };
layout(push_constant) uniform P { uint width; uint o_off; uint b_off; uint ids_off; } p;

void main() {
  const uint q = gl_WorkGroupID.y;
  const uint src = p.b_off + uint(table[p.ids_off + q]) * p.width;
  for (uint i = gl_GlobalInvocationID.x; i < p.width; i += gl_NumWorkGroups.x * 256)
    o[p.o_off + q * p.width + i] += b[src + i];
}
