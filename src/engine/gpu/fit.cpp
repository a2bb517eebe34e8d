#include "engine/gpu/fit.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "ops/types.h"

namespace engine::gpu {

uint64_t GpuBytes::total() const {
  uint64_t t = fixed;
  for (uint64_t l : layer) t += l;
  return t;
}

namespace {

// A tensor's bytes on the device: the upload pads each quantized block to whole 32-bit
// words (MXFP4's 17 bytes take 20, Q5_0's 22 take 24).
uint64_t device_bytes(const gguf::TensorInfo& t) {
  const ops::TypeInfo* ti = ops::type_info(t.type);
  if (ti == nullptr || ti->block_size <= 1) return t.n_bytes;
  const uint64_t block = ops::row_bytes(static_cast<ops::DType>(t.type), ti->block_size);
  return block == 0 ? t.n_bytes : t.n_bytes / block * ((block + 3) / 4 * 4);
}

// The layer index of a "blk.N.*" tensor, or -1.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(name.c_str() + 4, &end, 10);
  return end != name.c_str() + 4 && *end == '.' ? n : -1;
}

}  // namespace

GpuBytes gpu_bytes(const gguf::File& file, const nn::Shape& sh, int n_ctx, int n_seq, int n_batch) {
  GpuBytes b;
  b.layer.assign(static_cast<size_t>(std::max<int64_t>(sh.n_layer, 0)), 0);
  uint64_t output = 0, tied = 0;
  bool has_output = false;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const int64_t l = layer_of(t.name);
    if (l >= 0 && l < sh.n_layer) {
      b.layer[l] += device_bytes(t);
    } else if (t.name == "output.weight" || t.name == "output_norm.weight") {
      output += device_bytes(t);
      has_output = has_output || t.name == "output.weight";
    } else if (t.name == "token_embd.weight") {
      tied = device_bytes(t);  // the output projection when the file has no output.weight
    }
  }
  if (!has_output) output += tied;
  const uint64_t kv = 2ull * n_seq * n_ctx * sh.n_k() * 4;
  for (uint64_t& l : b.layer) l += kv;
  // Working buffers: the device twins of the step's rows (fused projections and the MoE rows
  // included), the activations the matrix kernels quantize, and the logits of a step's outputs.
  const int64_t widest = std::max({sh.n_embd, sh.n_ff, sh.n_q()});
  const uint64_t rows =
      4ull * n_batch *
      (3 * sh.n_embd + 2 * sh.n_q() + 2 * sh.n_k() + 2 * std::max(sh.n_ff, sh.n_embd) + sh.n_wide +
       (sh.n_expert > 0 ? 2 * sh.n_embd + 2 * sh.n_ff_exp + sh.n_expert : 0) + widest / 4 +
       widest / 32);
  const uint64_t logits = 2ull * 4 * std::max(n_seq, 1) * sh.n_vocab;
  b.fixed = output + rows + logits;
  return b;
}

int fit_layers(const GpuBytes& need, uint64_t free, uint64_t overhead) {
  if (free <= overhead || free - overhead < need.fixed) return 0;
  uint64_t left = free - overhead - need.fixed;
  int n = 0;
  for (auto it = need.layer.rbegin(); it != need.layer.rend() && *it <= left; ++it, ++n)
    left -= *it;
  return n;
}

std::string format_bytes(uint64_t bytes) {
  char buf[48];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  return buf;
}

}  // namespace engine::gpu
