// AMX int8 tile kernels (Kernels::gemm) for the 32-element block types with Q8_0 activations.
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {

#define OPS_AMX_FORWARD(name)                                                              \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    avx512vnni::name(n, nr, nt, w, ws, a, as, y, ldy);                                     \
  }
OPS_AMX_FORWARD(gemm_q4_0_q8_0)
OPS_AMX_FORWARD(gemm_q4_1_q8_0)
OPS_AMX_FORWARD(gemm_q5_0_q8_0)
OPS_AMX_FORWARD(gemm_q5_1_q8_0)
OPS_AMX_FORWARD(gemm_q8_0_q8_0)
#undef OPS_AMX_FORWARD

}  // namespace ops::amx
