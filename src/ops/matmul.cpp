// matmul: quantize activations once, then split weight rows across the pool in chunks taken
// from an atomic counter; inside a chunk each weight row meets a block of tokens while hot.
#include "ops/matmul.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string>

#include "ops/scratch.h"
#include "util/error.h"

namespace ops {
namespace {

// Per calling thread: the quantized activations.
thread_local ScratchBuf<> t_act_scratch;
thread_local ScratchBuf<> t_row_scratch;  // one plain row unpacked from a packed group

constexpr int64_t kTokenBlock = 32;  // tokens per pass over a chunk's rows
// Fewer tokens than this stream the weights (decode, a few sequences): rows go out in runs.
constexpr int64_t kStreamTokens = 16;

struct QuantizeJob {
  void (*quantize)(const float*, void*, int64_t);
  const float* x;
  int64_t k;
  int64_t n_tokens;
  uint8_t* out;
  size_t out_stride;
};

void quantize_task(void* vctx, int ith, int nth) {
  const auto& j = *static_cast<const QuantizeJob*>(vctx);
  for (int64_t t = ith; t < j.n_tokens; t += nth) {
    j.quantize(j.x + t * j.k, j.out + t * j.out_stride, j.k);
  }
}

// One thread's run of consecutive chunks: its owner takes them from the front, threads that
// ran out of their own take them from the back. Both ends in one word so a take is one CAS.
struct alignas(64) ChunkRun {
  std::atomic<uint64_t> ends{0};  // front (low 32 bits), back (high 32 bits): [front, back)

  void set(int64_t front, int64_t back) {
    ends.store(static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32,
               std::memory_order_relaxed);
  }
  // The chunk taken from the front (from_back false) or the back, or -1 when none is left.
  int64_t take(bool from_back) {
    uint64_t e = ends.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t front = e & 0xffffffffu, back = e >> 32;
      if (front >= back) return -1;
      const uint64_t next = from_back ? front | (back - 1) << 32 : (front + 1) | back << 32;
      if (ends.compare_exchange_weak(e, next, std::memory_order_relaxed))
        return static_cast<int64_t>(from_back ? back - 1 : front);
    }
  }
};
constexpr int kMaxRuns = 64;  // more threads than this share one counter instead

struct DotJob {
  const Kernels* kw;
  void (*gemm)(int64_t, int, int, const void*, size_t, const void*, size_t, float*, int64_t);
  const uint8_t* w;
  size_t w_stride;
  int64_t k, n;
  const uint8_t* act;
  size_t act_stride;
  int64_t n_tokens;
  float* y;
  int64_t chunk_rows;
  int64_t n_chunks;
  ChunkRun* runs = nullptr;  // per thread, when rows are streamed in runs (see dot_task)
  alignas(64) std::atomic<int64_t> next_chunk{0};
};

void run_chunk(const DotJob& j, int64_t chunk) {
  const int64_t r0 = chunk * j.chunk_rows;
  const int64_t r1 = std::min(j.n, r0 + j.chunk_rows);
  if (j.gemm != nullptr) {
    j.gemm(j.k, static_cast<int>(r1 - r0), static_cast<int>(j.n_tokens), j.w + r0 * j.w_stride,
           j.w_stride, j.act, j.act_stride, j.y + r0, j.n);
    return;
  }
  const auto vec_dot = j.kw->vec_dot;
  for (int64_t t0 = 0; t0 < j.n_tokens; t0 += kTokenBlock) {
    const int64_t t1 = std::min(j.n_tokens, t0 + kTokenBlock);
    for (int64_t r = r0; r < r1; r++) {
      const uint8_t* wr = j.w + r * j.w_stride;
      for (int64_t t = t0; t < t1; t++)
        vec_dot(j.k, &j.y[t * j.n + r], wr, j.act + t * j.act_stride);
    }
  }
}

void dot_task(void* vctx, int ith, int nth) {
  auto& j = *static_cast<DotJob*>(vctx);
  if (j.runs != nullptr) {
    // Decode streams weights: each thread walks its own run of chunks in address order (one
    // long stream per thread for the hardware prefetcher, not a jump to wherever the shared
    // counter points every chunk), then helps the others from the back of their runs.
    for (int64_t c; (c = j.runs[ith].take(false)) >= 0;) run_chunk(j, c);
    for (int d = 1; d < nth; d++) {
      ChunkRun& other = j.runs[(ith + d) % nth];
      for (int64_t c; (c = other.take(true)) >= 0;) run_chunk(j, c);
    }
    return;
  }
  // First chunk is static (chunk ith); the rest come from the shared counter.
  for (int64_t c = ith; c < j.n_chunks; c = j.next_chunk.fetch_add(1, std::memory_order_relaxed)) {
    run_chunk(j, c);
  }
}

// Rows per chunk: enough chunks for load balance (>= ~4 per thread), few enough that the
// counter is not contended, a multiple of 4 for tile kernels.
// AMX tiles with a prompt-sized batch take bigger chunks (up to 256 rows, multiples of the
// 16-row tile): each gemm call copies/splits the whole activation block once, so fewer calls
// cost less (measured 12-15 % of Q4_K prefill, more for F16's bf16 activation split). So do
// the AVX2 tiles and their AVX-512 VNNI builds: every call streams all the batch's activations
// past its rows (F16 prefill +12 % on the AVX2 EPYC, the K-quants unchanged).
int64_t pick_chunk_rows(int64_t n, int nth, int64_t n_tokens, Isa isa, Layout layout) {
  if (layout == Layout::kRows8) {  // whole groups of 8 or 16 rows
    const int64_t rows =
        nth == 1 ? 64 : std::clamp<int64_t>(n / (4 * static_cast<int64_t>(nth)), 16, 64);
    return (rows + 15) / 16 * 16;
  }
  if (isa >= Isa::kAvx2 && n_tokens >= 64) {
    const int64_t rows = std::clamp<int64_t>(n / (2 * static_cast<int64_t>(nth)), 16, 256);
    return rows / 16 * 16;
  }
  if (nth == 1) return std::min<int64_t>(n, 64);
  int64_t rows = n / (4 * static_cast<int64_t>(nth));
  // One-token decode on AVX2 streams longer runs of rows per chunk (up to 256, still >= 4
  // chunks per thread): +3-8 % decode on the AVX2 EPYC, where 64-row chunks restarted the
  // weight stream too often; on Zen 4 (AVX-512) decode is the same with 64 or 256.
  rows = std::clamp<int64_t>(rows, 4, n_tokens == 1 && isa >= Isa::kAvx2 ? 256 : 64);
  return (rows + 3) / 4 * 4;
}

const Kernels& require_kernels(DType t, Isa isa, bool need_dot) {
  const Kernels* k = kernels(t, isa);
  if (k == nullptr || (need_dot && k->vec_dot == nullptr)) {
    const TypeInfo* ti = type_info(static_cast<uint32_t>(t));
    throw util::Error(std::string("tensor type ") + (ti ? ti->name : "unknown") +
                          " is not supported by the CPU kernels",
                      util::ErrorKind::kUnsupported);
  }
  return *k;
}

}  // namespace

bool packs_rows8(DType t, int64_t k, int64_t n, Isa isa) {
  const Kernels* kw = kernels(t, isa);
  if (kw == nullptr || kw->pack8 == nullptr || kw->gemm8 == nullptr || n % kw->pack_rows != 0)
    return false;
  return k % type_info(static_cast<uint32_t>(t))->block_size == 0;
}

void matmul(const void* w, DType wt, int64_t k, int64_t n, const float* x, int64_t n_tokens,
            float* y, util::ThreadPool& pool, Isa isa, Layout layout) {
  if (n <= 0 || n_tokens <= 0) return;
  const Kernels& kw = require_kernels(wt, isa, true);
  if (layout == Layout::kRows8 && (kw.gemm8 == nullptr || n % kw.pack_rows != 0)) {
    throw util::Error("matmul: packed rows without a kernel for them on this CPU");
  }
  const int64_t bs = std::max(type_info(static_cast<uint32_t>(wt))->block_size,
                              type_info(static_cast<uint32_t>(kw.act_type))->block_size);
  if (k % bs != 0) {
    throw util::Error("matmul: row length " + std::to_string(k) + " is not a multiple of the " +
                      type_info(static_cast<uint32_t>(wt))->name + " block size");
  }
  const uint8_t* act;
  size_t act_stride;
  if (kw.act_type == DType::F32) {
    act = reinterpret_cast<const uint8_t*>(x);
    act_stride = static_cast<size_t>(k) * sizeof(float);
  } else {
    const Kernels& ka = require_kernels(kw.act_type, isa, false);
    act_stride = row_bytes(kw.act_type, k);
    uint8_t* buf = t_act_scratch.get(act_stride * n_tokens, "matmul scratch");
    QuantizeJob qj{ka.quantize_row, x, k, n_tokens, buf, act_stride};
    if (n_tokens == 1 || pool.size() == 1) {
      quantize_task(&qj, 0, 1);
    } else {
      pool.run(quantize_task, &qj);
    }
    act = buf;
  }

  DotJob j;
  j.kw = &kw;
  j.gemm = layout == Layout::kRows8 ? kw.gemm8 : kw.gemm;
  j.w = static_cast<const uint8_t*>(w);
  j.w_stride = row_bytes(wt, k);
  j.k = k;
  j.n = n;
  j.act = act;
  j.act_stride = act_stride;
  j.n_tokens = n_tokens;
  j.y = y;
  j.chunk_rows = pick_chunk_rows(n, pool.size(), n_tokens, isa, layout);
  j.n_chunks = (n + j.chunk_rows - 1) / j.chunk_rows;
  const bool serial = j.n_chunks == 1 || pool.size() == 1;
  j.next_chunk.store(serial ? 1 : pool.size(), std::memory_order_relaxed);
  if (serial) {
    dot_task(&j, 0, 1);
    return;
  }
  std::array<ChunkRun, kMaxRuns> runs;
  const int nth = pool.size();
  if (n_tokens < kStreamTokens && nth <= kMaxRuns) {
    for (int i = 0; i < nth; i++) runs[i].set(j.n_chunks * i / nth, j.n_chunks * (i + 1) / nth);
    j.runs = runs.data();
  }
  pool.run(dot_task, &j);
}

bool packs_rows8_lookup(DType t, int64_t k, int64_t n, Isa isa) {
  return packs_rows8(t, k, n, isa) && kernels(t, isa)->unpack8 != nullptr;
}

void dequantize_row(const void* w, DType t, int64_t k, int64_t row, float* dst, Layout layout) {
  if (layout == Layout::kRows) {
    dequantize_rows(w, t, k, row, 1, dst);
    return;
  }
  const Kernels& kt = require_kernels(t, detected_isa(), false);
  if (kt.unpack8 == nullptr)
    throw util::Error("dequantize_row: packed rows without an unpack kernel on this CPU");
  const size_t stride = row_bytes(t, k);
  uint8_t* plain = t_row_scratch.get(stride, "embedding scratch");
  const int64_t g = row / kt.pack_rows;
  kt.unpack8(static_cast<const uint8_t*>(w) + g * kt.pack_rows * stride,
             static_cast<int>(row % kt.pack_rows), plain, k);
  kt.dequantize_row(plain, dst, k);
}

void dequantize_rows(const void* w, DType t, int64_t k, int64_t row0, int64_t n_rows, float* dst) {
  const Kernels& kt = require_kernels(t, detected_isa(), false);
  const size_t stride = row_bytes(t, k);
  const auto* base = static_cast<const uint8_t*>(w);
  for (int64_t r = 0; r < n_rows; r++) {
    kt.dequantize_row(base + (row0 + r) * stride, dst + r * k, k);
  }
}

}  // namespace ops
