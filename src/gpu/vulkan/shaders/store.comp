#version 450
// dst = src over `count` floats, through fp16 when f16 != 0 (packHalf2x16 rounds to nearest
// even, as the host's fp32_to_fp16), for KV cache writes.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) buffer D { float dst[]; };
layout(push_constant) uniform P { uint count; uint src_off; uint dst_off; uint f16; } p;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256) {
    const float v = src[p.src_off + i];
    dst[p.dst_off + i] = p.f16 != 0u ? unpackHalf2x16(packHalf2x16(vec2(v, 0.0))).x : v;
  }
}
