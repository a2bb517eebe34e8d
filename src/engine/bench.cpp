#include "engine/bench.h"

#include "engine/gpu/device_backend.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "util/thread_pool.h"

namespace engine {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A sum the compiler cannot drop: every byte is read. The read is what a good kernel does:
// full-width vector loads, two independent chains, and a software prefetch 2 KiB ahead
// (a scalar 8-byte loop measured ~30 % below what the memory delivers, which inflated the
// roofline fraction). SSE2 is x86-64 baseline, so this runs on every x86-64 CPU.
uint64_t sum_words(const uint64_t* p, size_t n) {
  size_t i = 0;
  uint64_t tail = 0;
#if defined(__SSE2__)
  __m128i a = _mm_setzero_si128(), b = _mm_setzero_si128();
  const char* bytes = reinterpret_cast<const char*>(p);
  for (; i + 8 <= n; i += 8) {  // one 64-byte line per step
    _mm_prefetch(bytes + 8 * i + 2048, _MM_HINT_T1);
    const auto* q = reinterpret_cast<const __m128i*>(p + i);
    a = _mm_add_epi64(a, _mm_add_epi64(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)));
    b = _mm_add_epi64(b, _mm_add_epi64(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
  }
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), _mm_add_epi64(a, b));
  tail = lanes[0] + lanes[1];
#endif
  for (; i < n; i++) tail += p[i];
  return tail;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

double measure_read_bandwidth(util::ThreadPool& pool, size_t bytes, int n_threads,
                              int repetitions) {
  const size_t n_words = bytes / sizeof(uint64_t);
  if (n_words == 0) return 0;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[n_words]);
  std::memset(buf.get(), 1, n_words * sizeof(uint64_t));  // fault every page in first
  const int used = std::max(1, std::min(n_threads, pool.size()));
  std::vector<uint64_t> sink(pool.size());
  double best = 0;
  for (int r = 0; r < std::max(1, repetitions); r++) {
    const double t0 = now_s();
    auto body = [&](int ith, int) {
      if (ith >= used) return;
      const size_t per = n_words / used;
      const size_t begin = per * ith, end = ith == used - 1 ? n_words : begin + per;
      sink[ith] = sum_words(buf.get() + begin, end - begin);
    };
    pool.run(body);
    const double dt = now_s() - t0;
    best = std::max(best, static_cast<double>(n_words * sizeof(uint64_t)) / dt / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t s : sink) keep = keep + s;
  (void)keep;
  return best;
}

BenchResult run_bench(const BenchOptions& o) {
  BenchResult r;
  r.model_path = o.model_path;
  auto model = Model::load(o.model_path, {.n_threads = o.n_threads, .load_tokenizer = false});
  r.load_s = model->load_seconds();
  r.arch = model->arch();
  r.weight_bytes = model->weight_bytes();
  r.n_params = model->info().n_params;
  r.active_bytes = model->info().active_weight_bytes;
  r.n_threads = model->n_threads();
  r.n_prompt = o.n_prompt;
  r.n_gen = o.n_gen;
  if (o.bandwidth_bytes > 0 && o.gpu) {
    r.bandwidth_gbs = gpu::device_bandwidth_gbs(o.bandwidth_bytes / 4, &r.device);
  } else if (o.bandwidth_bytes > 0) {
    r.bandwidth_gbs = measure_read_bandwidth(model->pool(), o.bandwidth_bytes, o.bandwidth_threads,
                                             o.repetitions);
  }

  const int n_ctx = o.n_prompt + o.n_gen + 1;
  auto ctx = model->new_context(
      {.n_ctx = n_ctx, .n_seq_max = 1, .n_batch = o.n_batch, .kv_type = o.kv_type, .gpu = o.gpu});
  r.device = ctx->device();
  const int64_t n_vocab = model->n_vocab();
  // Deterministic pseudo-random prompt (token ids spread over the vocabulary).
  Batch b;
  uint32_t state = 12345;
  auto next_id = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<int32_t>((state >> 8) % static_cast<uint32_t>(n_vocab));
  };
  // Warm-up: one token touches every weight page once (a MoE model: enough tokens that every
  // expert is picked by some).
  const int n_warm = model->info().n_expert > 0 ? std::min(n_ctx, 256) : 1;
  for (int i = 0; i < n_warm; i++) b.add(next_id(), i, 0, i == n_warm - 1);
  ctx->decode(b);
  ctx->kv_clear();

  if (o.n_prompt > 0) {
    b.clear();
    for (int i = 0; i < o.n_prompt; i++) b.add(next_id(), i, 0, i == o.n_prompt - 1);
    const double t0 = now_s();
    ctx->decode(b);
    r.prefill_tps = o.n_prompt / (now_s() - t0);
  }
  if (o.n_gen > 0) {
    int32_t tok = next_id();
    const double t0 = now_s();
    for (int i = 0; i < o.n_gen; i++) {
      b.clear();
      b.add(tok, o.n_prompt + i, 0, true);
      ctx->decode(b);
      const float* lg = ctx->logits(0);
      tok = static_cast<int32_t>(std::max_element(lg, lg + n_vocab) - lg);
    }
    r.decode_tps = o.n_gen / (now_s() - t0);
  }
  if (o.n_parallel > 1 && o.n_gen > 0) {
    // Every sequence gets a short prompt, then all decode one token per step in one batch.
    const int n_seq = o.n_parallel, n_prompt = std::max(1, o.n_prompt / 8);
    auto pctx = model->new_context({.n_ctx = n_prompt + o.n_gen + 1,
                                    .n_seq_max = n_seq,
                                    .n_batch = o.n_batch,
                                    .kv_type = o.kv_type,
                                    .gpu = o.gpu});
    b.clear();
    for (int s = 0; s < n_seq; s++) {
      for (int i = 0; i < n_prompt; i++) b.add(next_id(), i, s, i == n_prompt - 1);
    }
    pctx->decode(b);
    std::vector<int32_t> last(n_seq);
    for (int s = 0; s < n_seq; s++) last[s] = next_id();
    const double t0 = now_s();
    for (int i = 0; i < o.n_gen; i++) {
      b.clear();
      for (int s = 0; s < n_seq; s++) b.add(last[s], n_prompt + i, s, true);
      pctx->decode(b);
      for (int s = 0; s < n_seq; s++) {
        const float* lg = pctx->logits(s);
        last[s] = static_cast<int32_t>(std::max_element(lg, lg + n_vocab) - lg);
      }
    }
    r.n_parallel = n_seq;
    r.parallel_decode_tps = static_cast<double>(n_seq) * o.n_gen / (now_s() - t0);
  }
  if (r.bandwidth_gbs > 0 && r.active_bytes > 0) {
    r.roofline_tps = r.bandwidth_gbs * 1e9 / static_cast<double>(r.active_bytes);
    r.decode_roofline = r.decode_tps / r.roofline_tps;
  }
  return r;
}

std::string BenchResult::to_json() const {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"model_path\":\"%s\",\"arch\":\"%s\",\"weight_bytes\":%llu,\"active_bytes\":%llu,"
      "\"n_params\":%llu,"
      "\"n_threads\":%d,\"n_prompt\":%d,\"n_gen\":%d,\"load_s\":%.4f,"
      "\"bandwidth_gbs\":%.3f,\"prefill_tps\":%.3f,\"decode_tps\":%.3f,"
      "\"roofline_tps\":%.3f,\"decode_roofline\":%.4f,\"n_parallel\":%d,"
      "\"parallel_decode_tps\":%.3f,\"device\":\"%s\"}",
      json_escape(model_path).c_str(), json_escape(arch).c_str(),
      static_cast<unsigned long long>(weight_bytes), static_cast<unsigned long long>(active_bytes),
      static_cast<unsigned long long>(n_params), n_threads, n_prompt, n_gen, load_s, bandwidth_gbs,
      prefill_tps, decode_tps, roofline_tps, decode_roofline, n_parallel, parallel_decode_tps,
      json_escape(device).c_str());
  return buf;
}

std::string BenchResult::to_text() const {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "model     %s (%s, %.3f GB weights, %.3f GB read per token, %.1f M params)\n"
                "threads   %d, load %.3f s\n"
                "bandwidth %.2f GB/s (read) -> decode roofline %.2f t/s\n"
                "prefill   %d tokens: %.2f t/s\n"
                "decode    %d tokens: %.2f t/s (%.0f %% of roofline)\n",
                model_path.c_str(), arch.c_str(), weight_bytes / 1e9, active_bytes / 1e9,
                n_params / 1e6, n_threads, load_s, bandwidth_gbs, roofline_tps, n_prompt,
                prefill_tps, n_gen, decode_tps, decode_roofline * 100);
  std::string text = buf;
  if (!device.empty()) text += "device    " + device + " (GPU; bandwidth from device copies)\n";
  if (n_parallel > 1) {
    std::snprintf(buf, sizeof buf, "parallel  %d sequences x %d tokens: %.2f t/s aggregate\n",
                  n_parallel, n_gen, parallel_decode_tps);
    text += buf;
  }
  return text;
}

}  // namespace engine
