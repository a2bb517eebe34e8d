#version 450
// A MoE layer's output: out row t = the sum over its k pairs q = t * k + j of weight(q) *
// y row q, in slot order (the weights as moe_route.comp wrote them, float bits at
// table[wt_off + q]). Rows are width floats; every token's row is written whole.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Yb { float y[]; };
layout(std430, binding = 1) readonly buffer T { int table[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform P { uint width; uint k; uint y_off; uint wt_off; uint out_off; } p;

void main() {
  const uint t = gl_WorkGroupID.y;
  for (uint i = gl_GlobalInvocationID.x; i < p.width; i += gl_NumWorkGroups.x * 256) {
    float s = 0.0;
    for (uint j = 0; j < p.k; j++) {
      const uint q = t * p.k + j;
      s += intBitsToFloat(table[p.wt_off + q]) * y[p.y_off + q * p.width + i];
    }
    o[p.out_off + t * p.width + i] = s;
  }
}
