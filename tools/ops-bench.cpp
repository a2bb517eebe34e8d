// ops-bench: throughput of the kernel table per weight type and ISA.
//   vec_dot  : one thread, weights resident in L2 (pure kernel speed), GB/s of weight bytes
//              per second of thread CPU time
//   decode   : matmul with 1 token over a weight matrix bigger than the caches, all threads
//   batch    : matmul with --batch tokens (8: a decode step of 8 sequences) over the same
//              matrix as decode, GFLOP/s
//   prefill  : matmul with 64 tokens, GFLOP/s
//   Where the ISA packs rows of the type at load (Kernels::pack8), vec_dot is the packed gemm8
//   over the rows and one token, and decode and prefill run on packed weights, as the engine
//   does; where the type has a tile kernel (Kernels::gemm), vec_dot is that with one token.
// Usage: ops-bench [--threads N] [--k K] [--n N] [--batch N] [--types q4_0,q4_k,...] [--isa avx2]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/matmul.h"
#include "ops/types.h"
#include "util/mmap.h"
#include "util/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of this thread: the single-thread kernel numbers stay meaningful on a busy box.
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Quantizes one random row and tiles it over the matrix (quantizing GBs would take minutes).
std::vector<uint8_t> make_matrix(ops::DType t, int64_t k, int64_t n) {
  const size_t rb = ops::row_bytes(t, k);
  std::vector<uint8_t> w(rb * n);
  for (int64_t r = 0; r < std::min<int64_t>(n, 16); r++) {
    const auto src = random_floats(k, static_cast<uint32_t>(r));
    ops::scalar_table()[t].quantize_row(src.data(), w.data() + r * rb, k);
  }
  for (int64_t r = 16; r < n; r++) std::memcpy(w.data() + r * rb, w.data() + (r % 16) * rb, rb);
  return w;
}

// w packed by kw.pack8 when it packs rows of this shape (as the engine does at load).
ops::Layout maybe_pack(const ops::Kernels& kw, ops::DType t, int64_t k, int64_t n,
                       ops::Isa isa, std::vector<uint8_t>& w) {
  if (!ops::packs_rows8(t, k, n, isa)) return ops::Layout::kRows;
  std::vector<uint8_t> packed(w.size());
  kw.pack8(w.data(), packed.data(), k, n);
  w.swap(packed);
  return ops::Layout::kRows8;
}

double bench_vec_dot(const ops::Kernels& kw, ops::DType t, int64_t k, ops::Isa isa) {
  const int64_t rows = 256;  // the engine's decode chunk; <= 1.7 MB at k = 4096 (L2 on Zen 4: 1 MB)
  auto w = make_matrix(t, k, rows);
  const bool packed = maybe_pack(kw, t, k, rows, isa, w) == ops::Layout::kRows8;
  const auto x = random_floats(k, 99);
  std::vector<uint8_t> act(ops::row_bytes(kw.act_type, k) + 64);
  if (kw.act_type == ops::DType::F32) {
    std::memcpy(act.data(), x.data(), k * sizeof(float));
  } else {
    ops::kernels(kw.act_type)->quantize_row(x.data(), act.data(), k);
  }
  const size_t rb = ops::row_bytes(t, k);
  float sink = 0;
  int64_t reps = 0;
  const double t0 = thread_cpu_seconds();
  double el = 0;
  do {
    if (packed || kw.gemm != nullptr) {  // as matmul calls it for one token
      float out[rows];
      (packed ? kw.gemm8 : kw.gemm)(k, rows, 1, w.data(), rb, act.data(), 0, out, rows);
      sink += out[0];
    } else {
      for (int64_t r = 0; r < rows; r++) {
        float out;
        kw.vec_dot(k, &out, w.data() + r * rb, act.data());
        sink += out;
      }
    }
    reps++;
    el = thread_cpu_seconds() - t0;
  } while (el < 0.3);
  if (sink == 12345.678f) std::printf(" ");
  return static_cast<double>(rb) * rows * reps / el / 1e9;
}

double bench_matmul(ops::DType t, int64_t k, int64_t n, int64_t tokens, util::ThreadPool& pool,
                    ops::Isa isa, double* gflops) {
  auto w = make_matrix(t, k, n);
  const ops::Layout layout = maybe_pack(*ops::kernels(t, isa), t, k, n, isa, w);
  util::PageBuffer pages(w.size());  // huge pages, as the engine's packed weights
  std::memcpy(pages.data(), w.data(), w.size());
  w = {};
  const auto x = random_floats(k * tokens, 7);
  std::vector<float> y(n * tokens);
  ops::matmul(pages.data(), t, k, n, x.data(), tokens, y.data(), pool, isa, layout);  // warm
  int reps = 0;
  const auto t0 = Clock::now();
  double el = 0;
  do {
    ops::matmul(pages.data(), t, k, n, x.data(), tokens, y.data(), pool, isa, layout);
    reps++;
    el = seconds_since(t0);
  } while (el < 0.5);
  *gflops = 2.0 * k * n * tokens * reps / el / 1e9;
  return static_cast<double>(pages.size()) * reps / el / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = util::physical_cores();
  int64_t k = 4096, n = 8192;
  std::string types = "f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,mxfp4,q2_k,q3_k,q4_k,q5_k,q6_k";
  std::string only_isa;
  bool no_matmul = false;
  int64_t batch = 8;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--k")
      k = std::atoll(next().c_str());
    else if (a == "--n")
      n = std::atoll(next().c_str());
    else if (a == "--types")
      types = next();
    else if (a == "--isa")
      only_isa = next();
    else if (a == "--batch")
      batch = std::atoll(next().c_str());
    else if (a == "--no-matmul")
      no_matmul = true;
    else {
      std::fprintf(stderr,
                   "usage: ops-bench [--threads N] [--k K] [--n N] [--types a,b] [--isa name] "
                   "[--batch N] [--no-matmul]\n");
      return 2;
    }
  }
  if (batch < 1 || batch > 1024) {
    std::fprintf(stderr, "--batch must be 1..1024\n");
    return 2;
  }
  util::ThreadPool pool(threads);
  std::printf("detected ISA: %s, threads %d, k=%lld n=%lld\n", ops::isa_name(ops::detected_isa()),
              threads, static_cast<long long>(k), static_cast<long long>(n));
  const std::string batch_col = "batch" + std::to_string(batch) + " GFLOP/s";
  std::printf("%-6s %-11s %14s %14s %14s %14s %16s\n", "type", "isa", "vec_dot GB/s", "decode GB/s",
              "decode GFLOP/s", batch_col.c_str(), "prefill64 GFLOP/s");
  size_t pos = 0;
  while (pos <= types.size()) {
    size_t comma = types.find(',', pos);
    if (comma == std::string::npos) comma = types.size();
    std::string name = types.substr(pos, comma - pos);
    pos = comma + 1;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ops::DType t{};
    bool found = false;
    for (uint32_t id = 0; id < 64; id++) {
      const ops::TypeInfo* ti = ops::type_info(id);
      if (ti && name == ti->name) {
        t = static_cast<ops::DType>(id);
        found = true;
      }
    }
    if (!found || ops::kernels(t) == nullptr) {
      std::fprintf(stderr, "unknown or unsupported type %s\n", name.c_str());
      continue;
    }
    for (int i = 0; i <= static_cast<int>(ops::detected_isa()); i++) {
      const auto isa = static_cast<ops::Isa>(i);
      if (!only_isa.empty() && only_isa != ops::isa_name(isa)) continue;
      const ops::Kernels* kw = ops::kernels(t, isa);
      const double vd = bench_vec_dot(*kw, t, k, isa);
      double dec = 0, dec_gf = 0, batch_gf = 0, pre_gf = 0;
      if (!no_matmul) {
        dec = bench_matmul(t, k, n, 1, pool, isa, &dec_gf);
        bench_matmul(t, k, n, batch, pool, isa, &batch_gf);
        bench_matmul(t, k, 1024, 64, pool, isa, &pre_gf);
      }
      std::printf("%-6s %-11s %14.2f %14.2f %14.2f %14.2f %16.2f\n", name.c_str(),
                  ops::isa_name(isa), vd, dec, dec_gf, batch_gf, pre_gf);
      std::fflush(stdout);
    }
  }
  return 0;
}
