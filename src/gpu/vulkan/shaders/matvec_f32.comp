#version 450
#extension GL_GOOGLE_include_directive : require
// F32 rows, row at words row * k. See matvec_q4_0.comp.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint k; uint n; uint scale_off; uint x_off; uint y_off; uint x_stride; uint y_stride;
} p;
#include "row_sum.glsl"

void main() {
  const uint lid = gl_LocalInvocationID.x;
  for (uint row = gl_WorkGroupID.x; row < p.n; row += gl_NumWorkGroups.x) {
    float acc = 0.0;
    for (uint i = lid; i < p.k; i += 64) acc += w[row * p.k + i] * x[p.x_off + gl_WorkGroupID.y * p.x_stride + i];
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + row] = total;
  }
}
