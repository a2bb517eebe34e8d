// The Vulkan device layer: one compute device per process, its buffers, compute kernels built
// from embedded SPIR-V, and a recorder that puts many dispatches into one command buffer.
// Every failure (no loader, no device, out of device memory, device lost) is a util::Error
// with the reason, so a caller can fall back to the CPU. ARCHITECTURE.md §6.
#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace gpu::vk {

class Device;

// Device-local memory for weights and activations the shaders own, host-visible memory for
// what the CPU writes or reads (staging, logits).
enum class Memory { kDevice, kHost };

class Buffer {
 public:
  Buffer() = default;
  Buffer(Device& dev, size_t bytes, Memory memory);
  ~Buffer();
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t size() const { return size_; }
  VkBuffer handle() const { return buffer_; }
  // Host-visible buffers only: the mapped bytes (coherent).
  void* data() const { return mapped_; }

 private:
  Device* dev_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
  size_t size_ = 0;
  uint64_t charged_ = 0;  // device-local bytes counted in Device::free_memory()
};

// A compute pipeline: n_buffers storage buffers (bindings 0..n-1) and push_bytes of push
// constants, local size fixed in the shader.
class Kernel {
 public:
  Kernel(Device& dev, std::span<const uint32_t> spirv, int n_buffers, uint32_t push_bytes);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  int n_buffers() const { return n_buffers_; }
  uint32_t push_bytes() const { return push_bytes_; }
  VkPipeline pipeline() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }

 private:
  Device& dev_;
  int n_buffers_;
  uint32_t push_bytes_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

// One command buffer of dispatches, each waiting for the writes of the ones before it, then
// submitted once. Descriptor sets come from the recorder's own pool; reusable after wait().
class Recorder {
 public:
  explicit Recorder(Device& dev);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void dispatch(const Kernel& k, std::initializer_list<const Buffer*> buffers, const void* push,
                uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1);
  // Sets `bytes` bytes of dst from `offset` (both multiples of 4) to the word `value`.
  void fill(const Buffer& dst, size_t offset, size_t bytes, uint32_t value);
  // A host-visible or device buffer copy (staging in, results out).
  void copy(const Buffer& src, const Buffer& dst, size_t bytes, size_t src_offset = 0,
            size_t dst_offset = 0);
  // Submits what was recorded and waits for it; throws util::Error on device loss.
  void submit_and_wait();

 private:
  void begin_if_needed();
  void barrier();
  Device& dev_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptors_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool recording_ = false;
  bool any_ = false;
};

struct DeviceInfo {
  std::string name;
  uint32_t vendor_id = 0;
  bool is_cpu = false;          // a software rasterizer (lavapipe)
  bool discrete = false;
  uint64_t device_memory = 0;   // the largest device-local heap, bytes
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false;  // subgroupAdd & co. in compute shaders (the matvecs use it)
  uint32_t max_workgroups_x = 0;
  uint64_t max_storage_range = 0;  // the largest buffer a shader may bind (bytes)
};

class Device {
 public:
  // The process's device, opened on first use (GGML_VK_VISIBLE_DEVICES picks among the
  // physical devices by index; an empty value hides them all). Throws util::Error with the
  // reason when there is none.
  static Device& get();
  // Whether get() succeeds, with the reason when it does not; never throws.
  static bool available(std::string* why = nullptr);
  // Every physical device the loader lists (for `ollama ps`-style reporting and tests).
  static std::vector<DeviceInfo> list();

  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return family_; }
  // A memory type index with these properties among the allowed bits; throws if none.
  uint32_t memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const;
  // Held around vkQueueSubmit (the queue needs external synchronization).
  std::mutex& queue_mutex() { return queue_mu_; }
  // Device-local bytes free for new buffers: the driver's budget less its usage
  // (VK_EXT_memory_budget) where it reports them, else the largest device-local heap less
  // this process's device buffers.
  uint64_t free_memory() const;
  // Queue submissions so far (each Recorder::submit_and_wait): what tests count to hold a
  // step to one.
  uint64_t submissions() const { return submissions_.load(); }
  void count_submission() { submissions_++; }
  // Buffers count their device-local bytes here (positive on allocation, negative on free).
  void charge(int64_t bytes) { allocated_ += bytes; }

 private:
  std::atomic<uint64_t> submissions_{0};
  Device();
  std::mutex queue_mu_;
  DeviceInfo info_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t family_ = 0;
  VkPhysicalDeviceMemoryProperties mem_{};
  bool has_budget_ = false;  // VK_EXT_memory_budget
  std::atomic<int64_t> allocated_{0};
};

// A device-local buffer holding `bytes` bytes copied from host memory at `data` (through a
// staging buffer, one submission).
Buffer upload_bytes(Device& dev, const void* data, size_t bytes);

// Device memory bandwidth: device-local buffer copies of `bytes` each, `reps` in one
// submission, best of 3 submissions; bytes read plus bytes written per second (GB/s).
double copy_bandwidth(Device& dev, size_t bytes, int reps);

// Throws util::Error naming what failed when r is not VK_SUCCESS.
void check(VkResult r, const char* what);

}  // namespace gpu::vk
