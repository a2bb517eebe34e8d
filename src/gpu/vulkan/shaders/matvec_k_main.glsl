// main() of the K-quant matvecs whose super-blocks meet in shared memory (Q2_K, Q3_K, Q4_K,
// Q5_K, IQ4_XS): one invocation per 32-element unit, 64 units a pass; a super-block's 8
// integer sums meet in shared memory so its float term is formed once, as on the CPU (the d
// and dmin terms nearly cancel: rounding each unit's on its own costs precision). The includer
// defines K_MINS (1: units also give a minimum-weighted activation sum), and
//   ivec2 unit_sums(uint row, uint nb, uint b, uint u): unit u of super-block b of weight row
//     `row` against the activations: the scaled dot and, with K_MINS, the min term;
//   float super_term(uint row, uint nb, uint b, float da, int is, int ms): the super-block's
//     float term from its summed is (and ms), da the activations' scale.
shared int isums[64];
#if K_MINS
shared int msums[64];
#endif

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint nb = p.k / 256;
  for (uint lr = gl_WorkGroupID.x; lr < p.n; lr += gl_NumWorkGroups.x) {
    const uint row = expert_row0() + lr;  // the weight row
    float acc = 0.0;
    for (uint u0 = 0; u0 < nb * 8; u0 += 64) {  // uniform trip count: barriers inside
      const uint u = u0 + lid;
      const uint b = u / 8;
      const ivec2 r = u < nb * 8 ? unit_sums(row, nb, b, u % 8) : ivec2(0);
      isums[lid] = r.x;
#if K_MINS
      msums[lid] = r.y;
#endif
      barrier();
      if (u < nb * 8 && u % 8 == 0) {
        int is = 0, ms = 0;
        for (uint i = 0; i < 8; i++) {
          is += isums[lid + i];
#if K_MINS
          ms += msums[lid + i];
#endif
        }
        acc += super_term(row, nb, b, uintBitsToFloat(a[abase() + p.k / 4 + b]), is, ms);
      }
      barrier();
    }
    const float total = row_sum(acc);
    if (lid == 0) y[p.y_off + gl_WorkGroupID.y * p.y_stride + lr] = total;
  }
}
