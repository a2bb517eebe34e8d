// The body of matvec_f16/bf16.comp and their _id twins (matvec_io.glsl), with BF16 0 or 1:
// F16 or BF16 rows, two elements to a word (k even), row at words row * k / 2 (a bf16 is the
// high half of an f32).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#include "matvec_io.glsl"
#include "row_sum.glsl"

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint words = p.k / 2;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint i = lid; i < words; i += 64) {
#if BF16
      const uint u = w[row * words + i];
      const vec2 v = vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u));
#else
      const vec2 v = unpackHalf2x16(w[row * words + i]);
#endif
      acc += v.x * x[p.x_off + x_row() * p.x_stride + 2 * i] + v.y * x[p.x_off + x_row() * p.x_stride + 2 * i + 1];
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
