// Compute kernels built on first use from the embedded shaders (shaders.h), by name: what
// Matvec and VecOps dispatch.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "gpu/vulkan/device.h"
#include "gpu/vulkan/shaders.h"
#include "util/error.h"

namespace gpu::vk {

class KernelCache {
 public:
  explicit KernelCache(Device& dev) : dev_(dev) {}
  // shaders/<name>.comp with n_buffers storage buffers and push_bytes of push constants.
  const Kernel& get(const std::string& name, int n_buffers, uint32_t push_bytes) {
    auto& k = kernels_[name];
    if (!k) {
      const auto code = shader_code(name);
      if (code.empty()) throw util::Error("vulkan: shader " + name + " missing from this build");
      k = std::make_unique<Kernel>(dev_, code, n_buffers, push_bytes);
    }
    return *k;
  }

 private:
  Device& dev_;
  std::map<std::string, std::unique_ptr<Kernel>> kernels_;
};

}  // namespace gpu::vk
