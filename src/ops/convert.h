// Whole-tensor type conversion (for quantizing models and converting float types), threaded.
#pragma once
#include <cstdint>

#include "ops/types.h"
#include "util/thread_pool.h"

namespace ops {

// Quantizes n_rows rows of k floats into `to` (the reference quantizer of that type), rows
// split across the pool. dst holds n_rows * row_bytes(to, k) bytes. k must be a multiple of
// the block size of `to`. Throws util::Error when `to` has no quantizer.
void quantize_rows(DType to, const float* src, void* dst, int64_t k, int64_t n_rows,
                   util::ThreadPool& pool);

// Converts n_rows rows of k values from type `from` to type `to` (dequantize then quantize,
// one row at a time through a per-thread float buffer). from == to copies the bytes.
void convert_rows(DType from, const void* src, DType to, void* dst, int64_t k, int64_t n_rows,
                  util::ThreadPool& pool);

}  // namespace ops
