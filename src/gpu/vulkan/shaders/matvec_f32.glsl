// The body of matvec_f32.comp and matvec_f32_id.comp (matvec_io.glsl).
// F32 rows, row at words row * k. See matvec_q4_0_q8_0.glsl.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "row_sum.glsl"

void main() {
  const uint lid = gl_LocalInvocationID.x;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint i = lid; i < p.k; i += 64) acc += w[row * p.k + i] * x[p.x_off + x_row() * p.x_stride + i];
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
