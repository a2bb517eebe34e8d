#version 450
// out = act(gate) * up over `count` floats of row gl_WorkGroupID.y of each (rows g_stride,
// u_stride, o_stride floats apart): act 0 is SiLU (ops::swiglu), 1 the tanh form of GELU
// (ops::geglu), 2 gpt-oss's clamped SwiGLU (nn::expert_act: a = min(g, limit),
// b = clamp(u, -limit, limit), a * sigmoid(alpha a) * (b + 1)).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform P {
  uint count; uint g_off; uint u_off; uint o_off; uint g_stride; uint u_stride; uint o_stride;
  uint act; float alpha; float limit;
} p;

void main() {
  const uint r = gl_WorkGroupID.y;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += gl_NumWorkGroups.x * 256) {
    const float v = g[p.g_off + r * p.g_stride + i];
    float a, up = u[p.u_off + r * p.u_stride + i];
    if (p.act == 0) {
      a = v / (1.0 + exp(-v));
    } else if (p.act == 1) {
      const float t = 0.7978845608028654 * v * (1.0 + 0.044715 * v * v);
      a = v / (1.0 + exp(-2.0 * t));
    } else {
      const float c = min(v, p.limit);
      a = c / (1.0 + exp(-p.alpha * c));
      up = clamp(up, -p.limit, p.limit) + 1.0;
    }
    o[p.o_off + r * p.o_stride + i] = a * up;
  }
}
