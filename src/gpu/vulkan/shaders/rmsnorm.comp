#version 450
// y = x / sqrt(mean(x^2) + eps) * w for `rows` rows of n floats (w optional: has_w 0), one
// row per workgroup pass, as ops::rmsnorm.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint n; uint rows; uint x_off; uint w_off; uint y_off; uint has_w; float eps;
} p;
shared float part[64];

void main() {
  const uint lid = gl_LocalInvocationID.x;
  for (uint r = gl_WorkGroupID.x; r < p.rows; r += gl_NumWorkGroups.x) {
    const uint xr = p.x_off + r * p.n, yr = p.y_off + r * p.n;
    float s = 0.0;
    for (uint i = lid; i < p.n; i += 64) s += x[xr + i] * x[xr + i];
    part[lid] = s;
    barrier();
    for (uint h = 32; h > 0; h >>= 1) {
      if (lid < h) part[lid] += part[lid + h];
      barrier();
    }
    const float inv = inversesqrt(part[0] / float(p.n) + p.eps);
    barrier();
    for (uint i = lid; i < p.n; i += 64) {
      const float v = x[xr + i] * inv;
      y[yr + i] = p.has_w != 0u ? v * w[p.w_off + i] : v;
    }
    barrier();
  }
}
