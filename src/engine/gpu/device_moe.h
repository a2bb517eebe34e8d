// The mixture-of-experts block on the Vulkan device, for the backend (vulkan_backend.cpp;
// ARCHITECTURE.md §6). Vulkan builds only.
#pragma once
#ifdef OLLAMA_HAVE_VULKAN
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "engine/nn/moe.h"
#include "engine/nn/step.h"
#include "gpu/vulkan/device.h"
#include "gpu/vulkan/matvec.h"
#include "gpu/vulkan/vec_ops.h"

namespace engine::gpu {

namespace vk = ::gpu::vk;

// Where a Scratch row lives on the device: its twin buffer and the offset in floats.
struct DeviceRow {
  vk::Buffer& buf;
  uint32_t off;
};

// The rows of a matrix packed for the CPU back in plain rows; empty when they are plain.
std::vector<uint8_t> plain_rows(const nn::Matrix& w);

class DeviceMoe {
 public:
  // A step of up to this many tokens (decode, a few sequences) routes on the device; longer
  // ones (prompts) group their tokens by expert on the host.
  static constexpr int kDeviceRouteTokens = 8;

  // The backend's device, kernels and step recorder; twin finds a Scratch row's device row.
  DeviceMoe(vk::Device& dev, vk::Matvec& matvec, vk::VecOps& ops, vk::Recorder& rec,
            const nn::Shape& shape, int n_batch, std::function<DeviceRow(const float*)> twin);

  // Every expert of the layer onto the device at its first step (the load's warm-up token),
  // not only those its first tokens pick: each 3-D tensor as one matrix of every expert's
  // rows stacked, and the stacked biases.
  void upload(const nn::MoeWeights& w, int64_t n_expert);

  // s.buf->proj = the layer's output for every token of the step, the router's logits already
  // recorded into s.buf->moe_logits' device row. Up to kDeviceRouteTokens tokens: moe_route
  // picks each token's experts and weights on the device, the experts' matrices run per
  // (token, slot) pair on those ids (Matvec::record_experts) and moe_combine weights them into
  // the projection rows, all in the step's command buffer. More: the logits come back to the
  // host (the one host round trip of such a layer), nn::moe_route/nn::moe_group pick and group,
  // and per selected expert the device gathers its tokens' rows, runs its matrices once for
  // all of them and weights the outputs back (scatter_axpy).
  void ffn(nn::Step& s, const nn::MoeWeights& w, const nn::MoeParams& p);

 private:
  struct Experts {
    const vk::DeviceMatrix *gate = nullptr, *up = nullptr, *down = nullptr;
    const vk::Buffer *gate_b = nullptr, *up_b = nullptr, *down_b = nullptr;
    int64_t f = 0;  // rows of one expert's gate/up matrix
  };
  const vk::DeviceMatrix& stacked(const nn::ExpertMatrix& em, int64_t ne);
  const vk::Buffer* bias(const nn::Vector* v, int64_t n);
  void routed_on_device(nn::Step& s, const nn::MoeParams& p, const Experts& ex, int64_t d);
  void grouped_on_host(nn::Step& s, const nn::MoeParams& p, const Experts& ex, int64_t d);

  vk::Device& dev_;
  vk::Matvec& matvec_;
  vk::VecOps& ops_;
  vk::Recorder& rec_;
  int n_batch_;
  std::function<DeviceRow(const float*)> twin_;
  vk::Buffer back_, table_;  // router logits coming back; grouped tokens and weights
  vk::Buffer route_;         // the device's routing: expert ids, then weights, per pair
  std::unordered_map<const void*, vk::DeviceMatrix> matrices_;  // stacked, by expert 0's rows
  std::unordered_map<const void*, vk::Buffer> biases_;
  std::unordered_map<const void*, Experts> experts_;  // per layer, by its gate tensor
};

}  // namespace engine::gpu
#endif
