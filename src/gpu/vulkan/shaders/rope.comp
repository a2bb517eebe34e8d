#version 450
// RoPE in place on n_heads heads (head_dim apart) of one token, the first n_rot dims, with
// the token's cos/sin pairs cs[2i], cs[2i + 1] (ops::rope_cache): mode 0 rotates pairs
// (2i, 2i + 1) (ops::rope_norm), mode 1 pairs (i, i + n_rot / 2) (ops::rope_neox).
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer C { float cs[]; };
layout(push_constant) uniform P {
  uint n_heads; uint head_dim; uint n_rot; uint mode; uint x_off; uint cs_off;
} p;

void main() {
  const uint half_rot = p.n_rot / 2;
  const uint total = p.n_heads * half_rot;
  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * 64) {
    const uint h = t / half_rot, i = t % half_rot;
    const uint base = p.x_off + h * p.head_dim;
    const uint a = base + (p.mode == 0u ? 2 * i : i);
    const uint b = base + (p.mode == 0u ? 2 * i + 1 : i + half_rot);
    const float c = cs[p.cs_off + 2 * i], s = cs[p.cs_off + 2 * i + 1];
    const float x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}
