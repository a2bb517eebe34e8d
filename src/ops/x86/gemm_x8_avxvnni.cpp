// The AVX-VNNI build of gemm_x8_avx2.cpp (x86_kernels.h, namespace avxvnni): the same source
// compiled with -mavxvnni, its tiles taking the vpdpbusd paths of tiles_avx2.h/tiles_k_avx2.h
// (held to the scalar twins by vnni_tiles_emu_test.cpp and, on AVX-512 VNNI CPUs, by the
// avx512vnni builds of the same tiles). The dots it calls stay the AVX2 ones.
#include "ops/x86/x86_kernels.h"

namespace ops::avxvnni {
using namespace ::ops::avx2;  // NOLINT: the AVX2 dots, for the rows past the last whole group
}  // namespace ops::avxvnni

// clang-format off
#define avx2 avxvnni
#include "ops/x86/gemm_x8_avx2.cpp"
#undef avx2
// clang-format on
