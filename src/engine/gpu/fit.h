// How many of a model's layers go to the GPU when a request leaves it to the server
// (num_gpu absent or -1), as Ollama fits them: the device bytes of each layer (its weights and
// its device KV cache) and of what any placement needs (the output matrix and the backend's
// working buffers), fitted into the device's free memory less OLLAMA_GPU_OVERHEAD, last layers
// first (a split runs the first layers on the CPU). Plain arithmetic, built with or without
// the gpu part.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/nn/step.h"

namespace engine::gpu {

struct GpuBytes {
  uint64_t fixed = 0;           // output weights and working buffers
  std::vector<uint64_t> layer;  // per layer: weights and device KV cache
  uint64_t total() const;
};

// The device bytes of a context of `file`'s model (shape sh) with n_seq sequences of n_ctx
// cells and steps of up to n_batch tokens; the device keeps K/V in F32.
GpuBytes gpu_bytes(const gguf::File& file, const nn::Shape& sh, int n_ctx, int n_seq, int n_batch);

// The number of trailing layers that fit in `free` bytes less `overhead` (0..layer.size(): 0
// when the fixed part and no layer fit).
int fit_layers(const GpuBytes& need, uint64_t free, uint64_t overhead);

// "3.2 GiB" / "17.5 MiB" (one decimal, binary units), for the logs and errors about a fit.
std::string format_bytes(uint64_t bytes);

}  // namespace engine::gpu
