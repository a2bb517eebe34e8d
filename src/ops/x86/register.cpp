// Wires the x86 SIMD kernels into the per-ISA kernel tables (see ops/kernels_impl.h). Compiled
// for baseline x86-64: the dispatcher may build every table, even ones this CPU cannot run.
#include <initializer_list>

#include "ops/x86/x86_kernels.h"

namespace ops {

namespace {

using GemmFn = void (*)(int64_t, int, int, const void*, size_t, const void*, size_t, float*,
                        int64_t);

// Batches of kTileTokens tokens or more through the 8-row tiles of `Big`, smaller ones (decode,
// a few sequences) through `Small`.
template <GemmFn Small, GemmFn Big, int kTileTokens>
void gemm_by_batch(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                   float* y, int64_t ldy) {
  (nt >= kTileTokens ? Big : Small)(n, nr, nt, w, ws, a, as, y, ldy);
}

// Rows packed by 16 at load (Binder::pack_rows) and multiplied from that layout.
void packed16(Kernels& k, decltype(Kernels::pack8) pack, decltype(Kernels::gemm8) gemm,
              decltype(Kernels::unpack8) unpack) {
  k.pack8 = pack;
  k.gemm8 = gemm;
  k.pack_rows = 16;
  k.unpack8 = unpack;
}

}  // namespace

void register_avx2(KernelTable& t) {
  t[DType::F32].vec_dot = avx2::vec_dot_f32;
  t[DType::F16].vec_dot = avx2::vec_dot_f16_f32;
  t[DType::BF16].vec_dot = avx2::vec_dot_bf16_f32;
  t[DType::Q4_0].vec_dot = avx2::vec_dot_q4_0_q8_0;
  t[DType::Q4_1].vec_dot = avx2::vec_dot_q4_1_q8_0;
  t[DType::Q5_0].vec_dot = avx2::vec_dot_q5_0_q8_0;
  t[DType::Q5_1].vec_dot = avx2::vec_dot_q5_1_q8_0;
  t[DType::Q8_0].vec_dot = avx2::vec_dot_q8_0_q8_0;
  t[DType::MXFP4].vec_dot = avx2::vec_dot_mxfp4_q8_0;
  t[DType::IQ4_NL].vec_dot = avx2::vec_dot_iq4_nl_q8_0;
  t[DType::IQ4_XS].vec_dot = avx2::vec_dot_iq4_xs_q8_k;
  t[DType::Q4_0].gemm = avx2::gemm_q4_0_q8_0;
  t[DType::Q8_0].gemm = avx2::gemm_q8_0_q8_0;
  t[DType::MXFP4].gemm = avx2::gemm_mxfp4_q8_0;
  t[DType::F32].gemm = avx2::gemm_f32;
  t[DType::F16].gemm = avx2::gemm_f16_f32;
  t[DType::BF16].gemm = avx2::gemm_bf16_f32;
  t[DType::MXFP4].pack8 = avx2::pack8_mxfp4;
  t[DType::MXFP4].gemm8 = avx2::gemm8_mxfp4_q8_0;
  t[DType::Q4_0].pack8 = avx2::pack8_q4_0;
  t[DType::Q4_0].gemm8 = avx2::gemm8_q4_0_q8_0;
  t[DType::Q4_0].unpack8 = avx2::unpack8_q4_0;
  t[DType::Q2_K].vec_dot = avx2::vec_dot_q2_k_q8_k;
  t[DType::Q3_K].vec_dot = avx2::vec_dot_q3_k_q8_k;
  t[DType::Q4_K].vec_dot = avx2::vec_dot_q4_k_q8_k;
  t[DType::Q5_K].vec_dot = avx2::vec_dot_q5_k_q8_k;
  t[DType::Q6_K].vec_dot = avx2::vec_dot_q6_k_q8_k;
  t[DType::Q2_K].gemm = avx2::gemm_q2_k_q8_k;
  t[DType::Q3_K].gemm = avx2::gemm_q3_k_q8_k;
  t[DType::Q4_K].gemm = avx2::gemm_q4_k_q8_k;
  t[DType::Q5_K].gemm = avx2::gemm_q5_k_q8_k;
  t[DType::Q6_K].gemm = avx2::gemm_q6_k_q8_k;
  t[DType::Q8_0].quantize_row = avx2::quantize_row_q8_0;
  t[DType::Q8_K].quantize_row = avx2::quantize_row_q8_k;
  // Every SIMD tier (the tables above copy this one) streams plain weight rows from huge
  // pages: Zen 4 with OLLAMA_CPU_ISA=avx2, 2 threads, decode F16 17.0 -> 18.4 t/s, Q4_K_M
  // 42.9 -> 45.5, Q8_0 30.5 -> 31.7 (their dots' software prefetch then makes no difference).
  for (Kernels& k : t.k) k.rows_in_huge_pages = k.vec_dot != nullptr;
  if (avx2_tiles_use_vnni()) {  // the same tiles with the VEX vpdpbusd (x86_kernels.h)
    t[DType::Q4_0].gemm = avxvnni::gemm_q4_0_q8_0;
    t[DType::Q8_0].gemm = avxvnni::gemm_q8_0_q8_0;
    t[DType::MXFP4].gemm = avxvnni::gemm_mxfp4_q8_0;
    t[DType::Q4_0].gemm8 = avxvnni::gemm8_q4_0_q8_0;
    t[DType::MXFP4].gemm8 = avxvnni::gemm8_mxfp4_q8_0;
    t[DType::Q2_K].gemm = avxvnni::gemm_q2_k_q8_k;
    t[DType::Q3_K].gemm = avxvnni::gemm_q3_k_q8_k;
    t[DType::Q4_K].gemm = avxvnni::gemm_q4_k_q8_k;
    t[DType::Q5_K].gemm = avxvnni::gemm_q5_k_q8_k;
    t[DType::Q6_K].gemm = avxvnni::gemm_q6_k_q8_k;
  }
}

void register_avx512(KernelTable& t) {
  t[DType::F32].vec_dot = avx512::vec_dot_f32;
  t[DType::F16].vec_dot = avx512::vec_dot_f16_f32;
  t[DType::BF16].vec_dot = avx512::vec_dot_bf16_f32;
  t[DType::F32].gemm = avx512::gemm_f32;
  t[DType::F16].gemm = avx512::gemm_f16_f32;
  t[DType::BF16].gemm = avx512::gemm_bf16_f32;
  // 16-bit float weights packed by 16 rows at load: decode runs the 16 rows in zmm lanes.
  packed16(t[DType::F16], avx512::pack16_16bit, avx512::gemm16_f16_f32, avx512::unpack16_16bit);
  packed16(t[DType::BF16], avx512::pack16_16bit, avx512::gemm16_bf16_f32, avx512::unpack16_16bit);
}

void register_avx512_vnni(KernelTable& t) {
  t[DType::Q4_0].vec_dot = avx512vnni::vec_dot_q4_0_q8_0;
  t[DType::Q4_1].vec_dot = avx512vnni::vec_dot_q4_1_q8_0;
  t[DType::Q5_0].vec_dot = avx512vnni::vec_dot_q5_0_q8_0;
  t[DType::Q5_1].vec_dot = avx512vnni::vec_dot_q5_1_q8_0;
  t[DType::Q8_0].vec_dot = avx512vnni::vec_dot_q8_0_q8_0;
  t[DType::MXFP4].vec_dot = avx512vnni::vec_dot_mxfp4_q8_0;
  t[DType::Q2_K].vec_dot = avx512vnni::vec_dot_q2_k_q8_k;
  t[DType::Q3_K].vec_dot = avx512vnni::vec_dot_q3_k_q8_k;
  t[DType::Q4_K].vec_dot = avx512vnni::vec_dot_q4_k_q8_k;
  t[DType::Q5_K].vec_dot = avx512vnni::vec_dot_q5_k_q8_k;
  t[DType::Q6_K].vec_dot = avx512vnni::vec_dot_q6_k_q8_k;
  t[DType::Q4_1].gemm = avx512vnni::gemm_q4_1_q8_0;
  t[DType::Q5_0].gemm = avx512vnni::gemm_q5_0_q8_0;
  t[DType::Q5_1].gemm = avx512vnni::gemm_q5_1_q8_0;
  // Plain rows (the types not packed below, and packed types' matrices whose row count is not a
  // multiple of 16): prompt-sized batches go through the 8-row tiles built with vpdpbusd,
  // decode and fewer than 8 sequences through the row kernels (weights streamed once, with
  // software prefetch). On Zen 4 the row kernels re-read every activation per weight row:
  // ops-bench prefill64 Q4_0 213 -> 395 GFLOP/s, Q4_K 246 -> 456, Q6_K 202 -> 316, Q8_0 240 ->
  // 306, MXFP4 227 -> 430.
  constexpr int kB = 8;
  t[DType::Q4_0].gemm = gemm_by_batch<avx512vnni::gemm_q4_0_q8_0, avx512vnni::tiles_q4_0_q8_0, kB>;
  t[DType::Q8_0].gemm = gemm_by_batch<avx512vnni::gemm_q8_0_q8_0, avx512vnni::tiles_q8_0_q8_0, kB>;
  t[DType::MXFP4].gemm =
      gemm_by_batch<avx512vnni::gemm_mxfp4_q8_0, avx512vnni::tiles_mxfp4_q8_0, kB>;
  t[DType::Q4_K].gemm = gemm_by_batch<avx512vnni::gemm_q4_k_q8_k, avx512vnni::tiles_q4_k_q8_k, kB>;
  t[DType::Q6_K].gemm = gemm_by_batch<avx512vnni::gemm_q6_k_q8_k, avx512vnni::tiles_q6_k_q8_k, kB>;
  t[DType::Q2_K].gemm = gemm_by_batch<avx512vnni::gemm_q2_k_q8_k, avx512vnni::tiles_q2_k_q8_k, kB>;
  t[DType::Q3_K].gemm = gemm_by_batch<avx512vnni::gemm_q3_k_q8_k, avx512vnni::tiles_q3_k_q8_k, kB>;
  t[DType::Q5_K].gemm = gemm_by_batch<avx512vnni::gemm_q5_k_q8_k, avx512vnni::tiles_q5_k_q8_k, kB>;
  // Q4_0, MXFP4, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS and IQ4_NL weights are packed by 16 rows at
  // load: the 16 rows in zmm lanes.
  using namespace avx512vnni;
  packed16(t[DType::Q4_0], pack16_q4_0, gemm16_q4_0_q8_0, unpack16_q4_0);
  packed16(t[DType::MXFP4], pack16_mxfp4, gemm16_mxfp4_q8_0, unpack16_mxfp4);
  packed16(t[DType::Q8_0], pack16_q8_0, gemm16_q8_0_q8_0, unpack16_q8_0);
  packed16(t[DType::Q4_K], pack16_q4_k, gemm16_q4_k_q8_k, unpack16_q4_k);
  packed16(t[DType::Q5_K], pack16_q5_k, gemm16_q5_k_q8_k, unpack16_q5_k);
  packed16(t[DType::Q6_K], pack16_q6_k, gemm16_q6_k_q8_k, unpack16_q6_k);
  packed16(t[DType::IQ4_XS], pack16_iq4_xs, gemm16_iq4_xs_q8_k, unpack16_iq4_xs);
  packed16(t[DType::IQ4_NL], pack16_q4_0, gemm16_iq4_nl_q8_0, unpack16_q4_0);  // Q4_0's bytes
}

void register_amx(KernelTable& t) {
  // Prompts go through the AMX tiles, which read plain rows. MXFP4, IQ4_NL and IQ4_XS have no
  // AMX tiles and keep the VNNI tier's rows packed by 16.
  for (DType d :
       {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::F16, DType::BF16}) {
    t[d].pack8 = nullptr;
    t[d].gemm8 = nullptr;
  }
  t[DType::Q4_0].gemm = amx::gemm_q4_0_q8_0;
  t[DType::Q4_1].gemm = amx::gemm_q4_1_q8_0;
  t[DType::Q5_0].gemm = amx::gemm_q5_0_q8_0;
  t[DType::Q5_1].gemm = amx::gemm_q5_1_q8_0;
  t[DType::Q8_0].gemm = amx::gemm_q8_0_q8_0;
  t[DType::Q4_K].gemm = amx::gemm_q4_k_q8_k;
  t[DType::Q6_K].gemm = amx::gemm_q6_k_q8_k;
  t[DType::Q2_K].gemm = amx::gemm_q2_k_q8_k;
  t[DType::Q3_K].gemm = amx::gemm_q3_k_q8_k;
  t[DType::Q5_K].gemm = amx::gemm_q5_k_q8_k;
  t[DType::F32].gemm = amx::gemm_f32;
  t[DType::F16].gemm = amx::gemm_f16_f32;
  t[DType::BF16].gemm = amx::gemm_bf16_f32;
}

}  // namespace ops
