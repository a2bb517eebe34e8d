// Kernel dispatch: the scalar table, CPUID detection, and the per-ISA tables built on it.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "ops/kernels_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OPS_X86 1
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

namespace ops {
namespace {

KernelTable build_scalar() {
  using namespace scalar;
  KernelTable t;
  t[DType::F32] = {copy_row_f32, copy_row_f32_q, DType::F32, vec_dot_f32};
  t[DType::F16] = {dequantize_row_f16, quantize_row_f16, DType::F32, vec_dot_f16_f32};
  t[DType::BF16] = {dequantize_row_bf16, quantize_row_bf16, DType::F32, vec_dot_bf16_f32};
  t[DType::Q4_0] = {dequantize_row_q4_0, quantize_row_q4_0, DType::Q8_0, vec_dot_q4_0_q8_0};
  t[DType::Q4_1] = {dequantize_row_q4_1, quantize_row_q4_1, DType::Q8_0, vec_dot_q4_1_q8_0};
  t[DType::Q5_0] = {dequantize_row_q5_0, quantize_row_q5_0, DType::Q8_0, vec_dot_q5_0_q8_0};
  t[DType::Q5_1] = {dequantize_row_q5_1, quantize_row_q5_1, DType::Q8_0, vec_dot_q5_1_q8_0};
  t[DType::Q8_0] = {dequantize_row_q8_0, quantize_row_q8_0, DType::Q8_0, vec_dot_q8_0_q8_0};
  t[DType::MXFP4] = {dequantize_row_mxfp4, quantize_row_mxfp4, DType::Q8_0, vec_dot_mxfp4_q8_0};
  t[DType::Q2_K] = {dequantize_row_q2_k, quantize_row_q2_k, DType::Q8_K, vec_dot_q2_k_q8_k};
  t[DType::Q3_K] = {dequantize_row_q3_k, quantize_row_q3_k, DType::Q8_K, vec_dot_q3_k_q8_k};
  t[DType::Q4_K] = {dequantize_row_q4_k, quantize_row_q4_k, DType::Q8_K, vec_dot_q4_k_q8_k};
  t[DType::Q5_K] = {dequantize_row_q5_k, quantize_row_q5_k, DType::Q8_K, vec_dot_q5_k_q8_k};
  t[DType::Q6_K] = {dequantize_row_q6_k, quantize_row_q6_k, DType::Q8_K, vec_dot_q6_k_q8_k};
  t[DType::IQ4_NL] = {dequantize_row_iq4_nl, quantize_row_iq4_nl, DType::Q8_0, vec_dot_iq4_nl_q8_0};
  t[DType::IQ4_XS] = {dequantize_row_iq4_xs, quantize_row_iq4_xs, DType::Q8_K, vec_dot_iq4_xs_q8_k};
  // Q8_K is an activation-only type (no weights are stored in it): no dot.
  t[DType::Q8_K] = {dequantize_row_q8_k, quantize_row_q8_k, DType::Q8_K, nullptr};
  return t;
}

struct Tables {
  KernelTable by_isa[5];
};

Tables build_tables() {
  Tables tb;
  tb.by_isa[0] = build_scalar();
  tb.by_isa[1] = tb.by_isa[0];
#ifdef OPS_X86
  register_avx2(tb.by_isa[1]);
#endif
  tb.by_isa[2] = tb.by_isa[1];
#ifdef OPS_X86
  register_avx512(tb.by_isa[2]);
#endif
  tb.by_isa[3] = tb.by_isa[2];
#ifdef OPS_X86
  register_avx512_vnni(tb.by_isa[3]);
#endif
  tb.by_isa[4] = tb.by_isa[3];
#ifdef OPS_X86
  register_amx(tb.by_isa[4]);
#endif
  return tb;
}

const Tables& tables() {
  static const Tables tb = build_tables();
  return tb;
}

#ifdef OPS_X86
bool request_amx_permission() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Isa cpuid_isa() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kScalar;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!osxsave || !avx) return Isa::kScalar;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::kScalar;  // OS saves XMM+YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::kScalar;
  const bool avx2 = b & (1u << 5);
  if (!(avx2 && fma && f16c)) return Isa::kScalar;
  const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  const bool vnni = c & (1u << 11);
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  // AVX-512 needs the OS to save opmask + ZMM state too.
  if (!(f && dq && bw && vl) || (xcr0 & 0xe6) != 0xe6) return Isa::kAvx2;
  if (!vnni) return Isa::kAvx512;
  // AMX: the OS must enable XTILECFG/XTILEDATA (XCR0 bits 17-18) and, on Linux, grant this
  // process the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM); a VM may hide either.
  if (amx_tile && amx_int8 && amx_bf16 && (xcr0 & 0x60000) == 0x60000 && request_amx_permission())
    return Isa::kAmx;
  return Isa::kAvx512Vnni;
}
#endif

// The CPU's best tier, uncapped (CPUID once; on AMX CPUs it asks the OS for the tile state).
Isa hardware_isa() {
#ifdef OPS_X86
  static const Isa isa = cpuid_isa();
  return isa;
#else
  return Isa::kScalar;
#endif
}

bool avx_vnni_cpuid() {
#ifdef OPS_X86
  unsigned a, b, c, d;
  if (static_cast<int>(hardware_isa()) < static_cast<int>(Isa::kAvx2)) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return false;  // no sub-leaf 1
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a & (1u << 4)) != 0;
#else
  return false;
#endif
}

Isa detect() {
  const Isa isa = hardware_isa();
  // OLLAMA_CPU_ISA caps the ISA (scalar|avx2|avx512|avx512vnni|amx) for benchmarks and debugging.
  if (const char* cap = std::getenv("OLLAMA_CPU_ISA")) {
    for (int i = 0; i <= static_cast<int>(isa); i++) {
      if (std::string_view(cap) == isa_name(static_cast<Isa>(i))) return static_cast<Isa>(i);
    }
  }
  return isa;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
    case Isa::kAmx:
      return "amx";
  }
  return "unknown";
}

bool cpu_has_avx_vnni() {
  static const bool v = avx_vnni_cpuid();
  return v;
}

bool avx2_tiles_use_vnni() { return cpu_has_avx_vnni() && hardware_isa() == Isa::kAvx2; }

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

const KernelTable& scalar_table() { return tables().by_isa[0]; }

const Kernels* kernels(DType t, Isa isa) {
  const uint32_t id = static_cast<uint32_t>(t);
  if (id >= kNumTypeIds) return nullptr;
  if (static_cast<int>(isa) > static_cast<int>(detected_isa())) isa = detected_isa();
  const Kernels& k = tables().by_isa[static_cast<int>(isa)].k[id];
  return k.dequantize_row ? &k : nullptr;
}

const Kernels* kernels(DType t) { return kernels(t, detected_isa()); }

}  // namespace ops
