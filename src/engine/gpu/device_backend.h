// A context's forward on a GPU (ARCHITECTURE.md §6): an nn::Backend that records every step
// of a Step into one Vulkan command buffer and submits it once, with the context's KV cache
// mirrored on the device. Built only with the gpu part (OLLAMA_HAVE_VULKAN).
#pragma once
#include <memory>
#include <string>

#include "engine/kv/kv_cache.h"
#include "engine/model/arch.h"
#include "engine/nn/blocks.h"

namespace engine::gpu {

class DeviceBackend : public nn::Backend {
 public:
  // The host KV cache of sequence `seq` (-1: every sequence) was edited (cells removed,
  // shifted, copied into it, cleared): its device copy is rebuilt from it before the next step.
  virtual void kv_changed(int seq) = 0;
  // The device's name, for logs and `ollama ps`.
  virtual std::string device_name() const = 0;
};

// Whether this build has the Vulkan backend at all.
bool vulkan_built();

// Device-local bytes free for new buffers on the process's device (gpu::vk::Device::
// free_memory); throws util::Error when there is no device.
uint64_t device_free_bytes();
// Whether the device is a CPU renderer (lavapipe); its name in *name.
bool device_is_cpu(std::string* name);
// The device's queue submissions so far (tests hold a decode step to one).
uint64_t device_submissions();

// The GPU's memory bandwidth (GB/s of bytes read plus written by device copies) and its name;
// throws util::Error when there is no device.
double device_bandwidth_gbs(size_t bytes, std::string* device_name = nullptr);

// The Vulkan backend for a context of `arch` (its scratch sized for n_batch tokens and its
// host KV cache) running layers first_layer.. and the output, or util::Error with the reason:
// no build support, no device, an architecture or tensor type the shaders do not cover, out
// of device memory.
std::unique_ptr<DeviceBackend> make_vulkan_backend(const model::Arch& arch,
                                                   const std::string& arch_name,
                                                   const nn::Scratch& scratch, kv::KvCache& kv,
                                                   int n_batch, int first_layer = 0);

}  // namespace engine::gpu
