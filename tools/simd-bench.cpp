// simd-bench: GB/s of weight bytes pushed through vec_dot (one 8192 x 2048 weight matrix times
// one activation row, like a decode-time matmul) for every dot type and ISA, on 1 and 2
// threads, next to a plain 2-thread memory read (the decode roofline). The "L2 1t" column is
// the compute ceiling: a cache-resident slice timed in thread CPU time (robust on a busy box).
// Usage: simd-bench [--rows R] [--cols K] [--types Q4_0,Q8_0,...] [--cold] [--secs S]
//                   [--tokens T]
//   --tokens T multiplies the matrix with T activation rows (prompt processing); GB/s then
//   counts the weight bytes once per token (effective rate).
//   --cold cycles through copies of the matrix totalling >= 1 GiB so weights come from DRAM.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/types.h"
#include "util/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Offsets of fp16 scale fields per block, set to a sane constant (random bytes could make
// inf/NaN scales, which are not what real weights look like).
std::vector<size_t> f16_fields(ops::DType t) {
  using ops::DType;
  switch (t) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
      return {0};
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
      return {0, 2};
    case DType::Q2_K:
      return {80, 82};
    case DType::Q3_K:
      return {108};
    case DType::Q6_K:
      return {208};
    default:
      return {};
  }
}

std::vector<uint8_t> make_matrix(ops::DType t, int64_t rows, int64_t k, std::mt19937& rng) {
  const size_t rb = ops::row_bytes(t, k);
  std::vector<uint8_t> m(rb * rows);
  if (t == ops::DType::F32 || t == ops::DType::F16 || t == ops::DType::BF16) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> row(k);
    for (int64_t r = 0; r < rows; r++) {
      for (auto& v : row) v = g(rng);
      ops::scalar_table()[t].quantize_row(row.data(), m.data() + r * rb, k);
    }
    return m;
  }
  for (size_t i = 0; i + 4 <= m.size(); i += 4) {
    const uint32_t v = static_cast<uint32_t>(rng());
    std::memcpy(&m[i], &v, 4);
  }
  const size_t bb = ops::type_info(static_cast<uint32_t>(t))->block_bytes;
  const ops::f16_t h = ops::fp32_to_fp16(0.01f);
  for (size_t b = 0; b < m.size(); b += bb) {
    for (size_t off : f16_fields(t)) std::memcpy(&m[b + off], &h, 2);
    if (t == ops::DType::MXFP4) m[b] = 120;  // e8m0 exponent: scale 2^-8
  }
  return m;
}

struct Job {
  const ops::Kernels* k;
  const std::vector<std::vector<uint8_t>>* mats;
  size_t mat;
  size_t row_bytes;
  int64_t rows, cols;
  const uint8_t* act;
  size_t act_stride;
  int n_tokens;
  float* y;  // [n_tokens, rows]
  bool use_gemm;
};

// Rows split evenly across threads; with a tile kernel, 64-row chunks like ops::matmul.
void run_rows(const Job& j, int ith, int nth) {
  const int64_t r0 = j.rows * ith / nth, r1 = j.rows * (ith + 1) / nth;
  const uint8_t* w = (*j.mats)[j.mat].data();
  if (j.k->gemm && j.use_gemm) {
    for (int64_t r = r0; r < r1; r += 64) {
      const int nr = static_cast<int>(std::min<int64_t>(64, r1 - r));
      j.k->gemm(j.cols, nr, j.n_tokens, w + r * j.row_bytes, j.row_bytes, j.act, j.act_stride,
                &j.y[r], j.rows);
    }
    return;
  }
  for (int64_t r = r0; r < r1; r++) {
    for (int t = 0; t < j.n_tokens; t++) {
      j.k->vec_dot(j.cols, &j.y[t * j.rows + r], w + r * j.row_bytes, j.act + t * j.act_stride);
    }
  }
}

// GB/s of weight bytes for one kernel set over `secs` seconds.
double measure(util::ThreadPool& pool, Job job, double secs) {
  size_t bytes = 0;
  const size_t mat_bytes = job.row_bytes * job.rows;
  auto step = [&](int ith, int nth) { run_rows(job, ith, nth); };
  pool.run(step);  // warm-up
  const auto t0 = Clock::now();
  double el = 0;
  do {
    job.mat = (job.mat + 1) % job.mats->size();
    pool.run(step);
    bytes += mat_bytes * job.n_tokens;
    el = seconds_since(t0);
  } while (el < secs);
  return bytes / el / 1e9;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Compute ceiling: GB/s over a ~1 MiB slice of the matrix (stays in L2), one thread, timed in
// thread CPU time so other processes on a busy machine do not count.
double measure_hot(const Job& job, double secs) {
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(job.rows, (1 << 20) / job.row_bytes));
  Job hot = job;
  hot.rows = rows;
  hot.mat = 0;
  auto pass = [&] { run_rows(hot, 0, 1); };
  pass();
  const double t0 = thread_cpu_seconds();
  size_t bytes = 0;
  double el = 0;
  do {
    pass();
    bytes += rows * job.row_bytes * job.n_tokens;
    el = thread_cpu_seconds() - t0;
  } while (el < secs);
  return bytes / el / 1e9;
}

double read_bandwidth(util::ThreadPool& pool, double secs) {
  const size_t n = (size_t{1} << 30) / 8;
  std::vector<uint64_t> buf(n, 1);
  std::vector<uint64_t> sums(pool.size());
  auto step = [&](int ith, int nth) {
    const size_t a = n * ith / nth, b = n * (ith + 1) / nth;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = a; i + 4 <= b; i += 4) {
      s0 += buf[i];
      s1 += buf[i + 1];
      s2 += buf[i + 2];
      s3 += buf[i + 3];
    }
    sums[ith] += s0 + s1 + s2 + s3;
  };
  pool.run(step);
  const auto t0 = Clock::now();
  size_t bytes = 0;
  double el = 0;
  do {
    pool.run(step);
    bytes += n * 8;
    el = seconds_since(t0);
  } while (el < secs);
  if (sums[0] == 42) std::printf(" ");
  return bytes / el / 1e9;
}

ops::DType parse_type(const std::string& s) {
  for (uint32_t id = 0; id < 40; id++) {
    const ops::TypeInfo* ti = ops::type_info(id);
    if (ti && s == ti->name) return static_cast<ops::DType>(id);
  }
  std::fprintf(stderr, "unknown type %s\n", s.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using ops::DType;
  int64_t rows = 8192, cols = 2048;
  double secs = 0.4;
  bool cold = false;
  int n_tokens = 1;
  std::vector<DType> types = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                              DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4};
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--rows")
      rows = std::stoll(next());
    else if (a == "--cols")
      cols = std::stoll(next());
    else if (a == "--secs")
      secs = std::stod(next());
    else if (a == "--cold")
      cold = true;
    else if (a == "--tokens")
      n_tokens = std::stoi(next());
    else if (a == "--types") {
      types.clear();
      std::string list = next();
      size_t p = 0;
      while (p <= list.size()) {
        const size_t c = std::min(list.find(',', p), list.size());
        types.push_back(parse_type(list.substr(p, c - p)));
        p = c + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: simd-bench [--rows R] [--cols K] [--types A,B] [--cold] [--secs S] "
                   "[--tokens T]\n");
      return 2;
    }
  }
  util::ThreadPool pool1(1), pool2(2);
  std::printf("matrix %lld x %lld, %d token(s), %s weights, detected ISA %s\n", (long long)rows,
              (long long)cols, n_tokens, cold ? "cold (>= 1 GiB rotating)" : "warm (one matrix)",
              ops::isa_name(ops::detected_isa()));
  std::printf("plain read bandwidth: 1 thread %.1f GB/s, 2 threads %.1f GB/s\n",
              read_bandwidth(pool1, secs), read_bandwidth(pool2, secs));
  std::printf("%-6s %-16s %9s %9s %12s\n", "type", "isa", "1t GB/s", "2t GB/s", "L2 1t GB/s");
  std::mt19937 rng(42);
  std::vector<float> y(rows * n_tokens);
  for (DType t : types) {
    const ops::Kernels* ks = ops::kernels(t, ops::Isa::kScalar);
    if (!ks || !ks->vec_dot) continue;
    const size_t rb = ops::row_bytes(t, cols);
    std::vector<std::vector<uint8_t>> mats;
    mats.push_back(make_matrix(t, rows, cols, rng));
    if (cold) {
      while (mats.size() * mats[0].size() < (size_t{1} << 30)) mats.push_back(mats[0]);
    }
    std::vector<float> x(cols);
    std::normal_distribution<float> g(0.0f, 1.0f);
    const size_t as = ops::row_bytes(ks->act_type, cols);
    std::vector<uint8_t> act(as * n_tokens);
    for (int t = 0; t < n_tokens; t++) {
      for (auto& v : x) v = g(rng);
      ops::scalar_table()[ks->act_type].quantize_row(x.data(), act.data() + t * as, cols);
    }
    for (int isa = 0; isa <= static_cast<int>(ops::detected_isa()); isa++) {
      const ops::Kernels* k = ops::kernels(t, static_cast<ops::Isa>(isa));
      for (int use_gemm = 0; use_gemm <= (k->gemm ? 1 : 0); use_gemm++) {
        Job job{k, &mats, 0, rb, rows, cols, act.data(), as, n_tokens, y.data(), use_gemm == 1};
        const double s = isa == 0 ? secs / 4 : secs;
        const double g1 = measure(pool1, job, s);
        const double g2 = measure(pool2, job, s);
        const double gh = measure_hot(job, s);
        const std::string name =
            std::string(ops::isa_name(static_cast<ops::Isa>(isa))) + (use_gemm ? "+gemm" : "");
        std::printf("%-6s %-16s %9.2f %9.2f %12.2f\n",
                    ops::type_info(static_cast<uint32_t>(t))->name, name.c_str(), g1, g2, gh);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
