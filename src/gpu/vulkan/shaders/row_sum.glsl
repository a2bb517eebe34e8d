// The sum of v over a 64-invocation workgroup, in invocation 0: each subgroup adds its share
// in registers (subgroupAdd), then invocation 0 adds the subgroups' sums: two barriers per
// row instead of a shared-memory tree's seven. Included by the matvec shaders.
#extension GL_KHR_shader_subgroup_arithmetic : require
shared float row_sum_parts[64];

float row_sum(float v) {
  const float s = subgroupAdd(v);
  if (subgroupElect()) row_sum_parts[gl_SubgroupID] = s;
  barrier();
  float t = 0.0;
  if (gl_LocalInvocationID.x == 0)
    for (uint i = 0; i < gl_NumSubgroups; i++) t += row_sum_parts[i];
  barrier();  // the parts are written again for the next row
  return t;
}
