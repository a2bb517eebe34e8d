// AMX BF16 tile kernels (Kernels::gemm) for float weights (F32, F16, BF16) with F32 activations.
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {

#define OPS_AMX_FORWARD(name)                                                              \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    avx512::name(n, nr, nt, w, ws, a, as, y, ldy);                                         \
  }
OPS_AMX_FORWARD(gemm_f32)
OPS_AMX_FORWARD(gemm_f16_f32)
OPS_AMX_FORWARD(gemm_bf16_f32)
#undef OPS_AMX_FORWARD

}  // namespace ops::amx
