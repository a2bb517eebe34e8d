#version 450
// RoPE in place on n_heads heads (head_dim apart) of token gl_WorkGroupID.y (its row at
// x_off + y * x_stride), the first n_rot dims, with the token's cos/sin pairs cs[2i],
// cs[2i + 1] at cs_off + y * cs_stride (ops::rope_cache): mode 0 rotates pairs
// (2i, 2i + 1) (ops::rope_norm), mode 1 pairs (i, i + n_rot / 2) (ops::rope_neox).
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer C { float cs[]; };
layout(push_constant) uniform P {
  uint n_heads; uint head_dim; uint n_rot; uint mode; uint x_off; uint cs_off; uint x_stride;
  uint cs_stride;
} p;

void main() {
  const uint half_rot = p.n_rot / 2;
  const uint total = p.n_heads * half_rot;
  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * 64) {
    const uint h = t / half_rot, i = t % half_rot;
    const uint base = p.x_off + gl_WorkGroupID.y * p.x_stride + h * p.head_dim;
    const uint a = base + (p.mode == 0u ? 2 * i : i);
    const uint b = base + (p.mode == 0u ? 2 * i + 1 : i + half_rot);
    const uint co = p.cs_off + gl_WorkGroupID.y * p.cs_stride;
    const float c = cs[co + 2 * i], s = cs[co + 2 * i + 1];
    const float x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}
