// Threaded row conversion: each pool thread takes rows from an atomic counter in small batches
// and converts through its own float buffer.
#include "ops/convert.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "util/error.h"

namespace ops {
namespace {

const Kernels& require(DType t) {
  const Kernels* k = kernels(t);
  if (k == nullptr || k->quantize_row == nullptr) {
    const TypeInfo* ti = type_info(static_cast<uint32_t>(t));
    throw util::Error(std::string("conversion to or from tensor type ") +
                      (ti ? ti->name : "unknown") + " is not supported");
  }
  return *k;
}

void check_k(DType t, int64_t k) {
  const TypeInfo* ti = type_info(static_cast<uint32_t>(t));
  if (ti == nullptr || k % ti->block_size != 0) {
    throw util::Error("row length " + std::to_string(k) + " is not a multiple of the " +
                      (ti ? ti->name : "unknown") + " block size");
  }
}

struct ConvertJob {
  const Kernels* from;  // nullptr: source rows are floats
  const Kernels* to;
  const uint8_t* src;
  size_t src_stride;
  uint8_t* dst;
  size_t dst_stride;
  int64_t k, n_rows;
  std::atomic<int64_t> next{0};
};

constexpr int64_t kRowsPerGrab = 8;

void convert_task(void* vctx, int, int) {
  auto& j = *static_cast<ConvertJob*>(vctx);
  thread_local std::vector<float> buf;
  if (j.from != nullptr && static_cast<int64_t>(buf.size()) < j.k) buf.resize(j.k);
  for (;;) {
    const int64_t r0 = j.next.fetch_add(kRowsPerGrab, std::memory_order_relaxed);
    if (r0 >= j.n_rows) break;
    const int64_t r1 = std::min(j.n_rows, r0 + kRowsPerGrab);
    for (int64_t r = r0; r < r1; r++) {
      const uint8_t* s = j.src + r * j.src_stride;
      const float* row = reinterpret_cast<const float*>(s);
      if (j.from != nullptr) {
        j.from->dequantize_row(s, buf.data(), j.k);
        row = buf.data();
      }
      j.to->quantize_row(row, j.dst + r * j.dst_stride, j.k);
    }
  }
}

}  // namespace

void quantize_rows(DType to, const float* src, void* dst, int64_t k, int64_t n_rows,
                   util::ThreadPool& pool) {
  convert_rows(DType::F32, src, to, dst, k, n_rows, pool);
}

void convert_rows(DType from, const void* src, DType to, void* dst, int64_t k, int64_t n_rows,
                  util::ThreadPool& pool) {
  check_k(from, k);
  check_k(to, k);
  if (from == to) {
    std::memcpy(dst, src, row_bytes(from, k) * n_rows);
    return;
  }
  ConvertJob j;
  j.from = from == DType::F32 ? nullptr : &require(from);
  j.to = &require(to);
  j.src = static_cast<const uint8_t*>(src);
  j.src_stride = row_bytes(from, k);
  j.dst = static_cast<uint8_t*>(dst);
  j.dst_stride = row_bytes(to, k);
  j.k = k;
  j.n_rows = n_rows;
  if (n_rows <= kRowsPerGrab || pool.size() == 1) {
    convert_task(&j, 0, 1);
  } else {
    pool.run(convert_task, &j);
  }
}

}  // namespace ops
