#version 450
#extension GL_GOOGLE_include_directive : require
// F16 rows, two elements to a word (k even), row at words row * k / 2. See matvec_q4_0.comp.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint k; uint n; uint scale_off; uint x_off; uint y_off; uint x_stride; uint y_stride;
} p;
#include "row_sum.glsl"

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint words = p.k / 2;
  for (uint row = gl_WorkGroupID.x; row < p.n; row += gl_NumWorkGroups.x) {
    float acc = 0.0;
    for (uint i = lid; i < words; i += 64) {
      const vec2 v = unpackHalf2x16(w[row * words + i]);
      acc += v.x * x[p.x_off + gl_WorkGroupID.y * p.x_stride + 2 * i] + v.y * x[p.x_off + gl_WorkGroupID.y * p.x_stride + 2 * i + 1];
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + row] = total;
  }
}
