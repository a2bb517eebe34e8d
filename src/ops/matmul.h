// Matrix-vector / matrix-matrix products over any weight type, split across the thread pool.
#pragma once
#include <cstdint>

#include "ops/types.h"
#include "util/thread_pool.h"

namespace ops {

// W is [k, n] of type wt (n rows of k values, row_bytes(wt, k) apart); x is [k, n_tokens]
// (n_tokens rows of k floats); y is [n, n_tokens]: y[t * n + j] = dot(W row j, x row t).
// Quantizes each x row once into the weight type's activation type, then splits output rows
// across the pool in chunks (each weight row is used for all tokens while it is in cache).
// k must be a multiple of the block size of wt (and of its activation type).
// Scratch memory is thread_local and reused: no allocation in steady state.
// Layout::kRows8 weights (packed by kernels(wt, isa)->pack8; n a multiple of 8) run on gemm8.
void matmul(const void* w, DType wt, int64_t k, int64_t n, const float* x, int64_t n_tokens,
            float* y, util::ThreadPool& pool, Isa isa = detected_isa(),
            Layout layout = Layout::kRows);

// Whether kernels(t, isa) packs rows (Kernels::pack8) for a [k, n] matrix.
bool packs_rows8(DType t, int64_t k, int64_t n, Isa isa = detected_isa());
// The same, for a matrix also looked up by row (a tied embedding): its rows must unpack.
bool packs_rows8_lookup(DType t, int64_t k, int64_t n, Isa isa = detected_isa());

// Dequantizes rows [row0, row0 + n_rows) of a [k, *] matrix of type t into dst
// (n_rows * k floats), e.g. an embedding lookup. Throws util::Error for types without kernels.
void dequantize_rows(const void* w, DType t, int64_t k, int64_t row0, int64_t n_rows, float* dst);
// Dequantizes one row (embedding of token `row`); a kRows8 matrix's row is unpacked first.
void dequantize_row(const void* w, DType t, int64_t k, int64_t row, float* dst,
                    Layout layout = Layout::kRows);

}  // namespace ops
