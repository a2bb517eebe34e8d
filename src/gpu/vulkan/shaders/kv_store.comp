#version 450
// The keys (or values) of token gl_WorkGroupID.y (n_kv floats at src_off + y * n_kv) into
// its KV cache cell (float offset `cell_off`, the first int of its TokenTable row) and into
// row y of `back` (from back_off), through fp16 when f16 != 0 (packHalf2x16 rounds to
// nearest even, as the host's fp32_to_fp16): what an fp16 cache holds, on both sides.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) buffer C { float cache[]; };
layout(std430, binding = 2) buffer B { float back[]; };
layout(std430, binding = 3) readonly buffer Table { int table[]; };
layout(push_constant) uniform P { uint n_kv; uint src_off; uint back_off; uint f16; } p;
const uint kTableInts = 6u;

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint cell = uint(table[kTableInts * t]);
  for (uint i = gl_GlobalInvocationID.x; i < p.n_kv; i += gl_NumWorkGroups.x * 256) {
    const float v = src[p.src_off + t * p.n_kv + i];
    const float r = p.f16 != 0u ? unpackHalf2x16(packHalf2x16(vec2(v, 0.0))).x : v;
    cache[cell + i] = r;
    back[p.back_off + t * p.n_kv + i] = r;
  }
}
