// AVX2+FMA build of the transcendental vector ops (see vec_impl.h); the build gives files
// named *_avx2.cpp those flags, and vec.cpp calls these only on CPUs that have them.
#include "ops/vec_impl.h"

namespace ops {

const VecFns& vec_fns_avx2() {
  static const VecFns fns = {impl_silu, impl_gelu, impl_swiglu, impl_geglu, impl_softmax};
  return fns;
}

}  // namespace ops
