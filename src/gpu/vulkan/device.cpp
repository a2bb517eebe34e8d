#include "gpu/vulkan/device.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "util/error.h"
#include "util/log.h"

namespace gpu::vk {

namespace {

const char* result_name(VkResult r) {
  switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "out of device memory";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "initialization failed";
    case VK_ERROR_DEVICE_LOST:
      return "device lost";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "no compatible Vulkan driver";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "extension not present";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "feature not present";
    case VK_ERROR_TOO_MANY_OBJECTS:
      return "too many objects";
    case VK_TIMEOUT:
      return "timeout";
    default:
      return "error";
  }
}

VkInstance make_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "ollama-cpp";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  check(vkCreateInstance(&ci, nullptr, &inst), "vkCreateInstance");
  return inst;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(inst, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> out(n);
  check(vkEnumeratePhysicalDevices(inst, &n, out.data()), "vkEnumeratePhysicalDevices");
  out.resize(n);
  return out;
}

DeviceInfo describe(VkPhysicalDevice pd) {
  VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &sub;
  vkGetPhysicalDeviceProperties2(pd, &p2);
  const VkPhysicalDeviceProperties& p = p2.properties;
  DeviceInfo info;
  info.name = p.deviceName;
  info.vendor_id = p.vendorID;
  info.is_cpu = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  info.discrete = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  info.subgroup_size = sub.subgroupSize;
  info.subgroup_arithmetic = (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0 &&
                             (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  info.max_workgroups_x = p.limits.maxComputeWorkGroupCount[0];
  info.max_storage_range = p.limits.maxStorageBufferRange;
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t h = 0; h < mem.memoryHeapCount; h++) {
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      info.device_memory = std::max<uint64_t>(info.device_memory, mem.memoryHeaps[h].size);
  }
  return info;
}

// The compute queue family, or -1.
int compute_family(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
  for (uint32_t i = 0; i < n; i++)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
  return -1;
}

// GGML_VK_VISIBLE_DEVICES: indices into the loader's list, comma separated. Unset: all.
std::vector<int> visible(int n) {
  std::vector<int> out;
  const char* env = std::getenv("GGML_VK_VISIBLE_DEVICES");
  if (env == nullptr) {
    for (int i = 0; i < n; i++) out.push_back(i);
    return out;
  }
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long i = std::strtol(item.c_str(), &end, 10);
    if (end != item.c_str() && *end == '\0' && i >= 0 && i < n) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::mutex g_mu;
std::unique_ptr<Device> g_device;
std::string g_failure;  // why the device could not be opened (sticky)

}  // namespace

void check(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  const util::ErrorKind kind = r == VK_ERROR_DEVICE_LOST ? util::ErrorKind::kDevice
                               : r == VK_ERROR_OUT_OF_DEVICE_MEMORY
                                   ? util::ErrorKind::kOutOfMemory
                                   : util::ErrorKind::kInternal;
  throw util::Error(std::string("vulkan: ") + what + " failed: " + result_name(r) + " (" +
                        std::to_string(static_cast<int>(r)) + ")",
                    kind);
}

namespace {

// OCPP_TEST_GPU_FAIL_AFTER=N (a test hook, not a setting): the process's N-th submission and
// every later one fail as a lost device does, so tests can lose the device mid-request.
bool injected_loss() {
  static const long after = [] {
    const char* v = std::getenv("OCPP_TEST_GPU_FAIL_AFTER");
    return v != nullptr ? std::strtol(v, nullptr, 10) : 0L;
  }();
  static std::atomic<long> submissions{0};
  return after > 0 && ++submissions >= after;
}

}  // namespace

Device::Device() {
  instance_ = make_instance();
  try {
    const auto all = physical_devices(instance_);
    // The first discrete GPU, else integrated/virtual, else a CPU device (lavapipe); one
    // without subgroup arithmetic in compute shaders cannot run the matvecs.
    int best = -1, best_rank = -1;
    for (int i : visible(static_cast<int>(all.size()))) {
      if (compute_family(all[i]) < 0) continue;
      const DeviceInfo d = describe(all[i]);
      if (!d.subgroup_arithmetic) {
        LOG_WARN("vulkan: {} passed over: no subgroup arithmetic in compute shaders", d.name);
        continue;
      }
      const int rank = d.discrete ? 3 : d.is_cpu ? 1 : 2;
      if (rank > best_rank) best = i, best_rank = rank;
    }
    if (best < 0 && visible(static_cast<int>(all.size())).empty())
      throw util::Error("vulkan: no compute device visible (GGML_VK_VISIBLE_DEVICES)");
    if (best < 0) throw util::Error("vulkan: no compute device with subgroup arithmetic");
    physical_ = all[best];
    info_ = describe(physical_);
    family_ = static_cast<uint32_t>(compute_family(physical_));
    vkGetPhysicalDeviceMemoryProperties(physical_, &mem_);
    uint32_t n_ext = 0;
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, nullptr);
    std::vector<VkExtensionProperties> exts(n_ext);
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, exts.data());
    for (const VkExtensionProperties& e : exts)
      if (std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0) has_budget_ = true;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo q{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    q.queueFamilyIndex = family_;
    q.queueCount = 1;
    q.pQueuePriorities = &priority;
    VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    ci.queueCreateInfoCount = 1;
    ci.pQueueCreateInfos = &q;
    check(vkCreateDevice(physical_, &ci, nullptr, &device_), "vkCreateDevice");
    vkGetDeviceQueue(device_, family_, 0, &queue_);
  } catch (...) {
    vkDestroyInstance(instance_, nullptr);
    throw;
  }
}

Device::~Device() {
  if (device_ != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device_);
    vkDestroyDevice(device_, nullptr);
  }
  vkDestroyInstance(instance_, nullptr);
}

Device& Device::get() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_device) return *g_device;
  if (!g_failure.empty()) throw util::Error(g_failure);
  try {
    g_device.reset(new Device());
  } catch (const util::Error& e) {
    g_failure = e.what();
    throw;
  }
  return *g_device;
}

bool Device::available(std::string* why) {
  try {
    get();
    return true;
  } catch (const util::Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

std::vector<DeviceInfo> Device::list() {
  std::vector<DeviceInfo> out;
  VkInstance inst = VK_NULL_HANDLE;
  try {
    inst = make_instance();
    for (VkPhysicalDevice pd : physical_devices(inst)) out.push_back(describe(pd));
  } catch (const util::Error&) {
  }
  if (inst != VK_NULL_HANDLE) vkDestroyInstance(inst, nullptr);
  return out;
}

uint64_t Device::free_memory() const {
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
  if (has_budget_) p2.pNext = &budget;
  vkGetPhysicalDeviceMemoryProperties2(physical_, &p2);
  uint64_t best_size = 0, free = 0;
  for (uint32_t h = 0; h < p2.memoryProperties.memoryHeapCount; h++) {
    const VkMemoryHeap& heap = p2.memoryProperties.memoryHeaps[h];
    if (!(heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) || heap.size <= best_size) continue;
    best_size = heap.size;
    if (has_budget_) {
      free = budget.heapBudget[h] > budget.heapUsage[h] ? budget.heapBudget[h] - budget.heapUsage[h]
                                                        : 0;
    } else {
      const int64_t used = std::max<int64_t>(allocated_.load(), 0);
      free = heap.size > static_cast<uint64_t>(used) ? heap.size - used : 0;
    }
  }
  return free;
}

uint32_t Device::memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < mem_.memoryTypeCount; i++) {
    if ((allowed & (1u << i)) && (mem_.memoryTypes[i].propertyFlags & want) == want) return i;
  }
  throw util::Error("vulkan: no memory type with the properties a buffer needs");
}

Buffer upload_bytes(Device& dev, const void* data, size_t bytes) {
  Buffer staging(dev, bytes, Memory::kHost);
  std::memcpy(staging.data(), data, bytes);
  Buffer dst(dev, bytes, Memory::kDevice);
  Recorder rec(dev);
  rec.copy(staging, dst, bytes);
  rec.submit_and_wait();
  return dst;
}

double copy_bandwidth(Device& dev, size_t bytes, int reps) {
  Buffer a(dev, bytes, Memory::kDevice), b(dev, bytes, Memory::kDevice);
  Recorder rec(dev);
  rec.copy(a, b, bytes);  // first touch
  rec.submit_and_wait();
  double best = 0;
  for (int pass = 0; pass < 3; pass++) {
    for (int i = 0; i < reps; i++) rec.copy(i % 2 ? b : a, i % 2 ? a : b, bytes);
    const auto t0 = std::chrono::steady_clock::now();
    rec.submit_and_wait();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(bytes) * reps / s / 1e9);
  }
  return best;
}

// ---- Buffer ----

Buffer::Buffer(Device& dev, size_t bytes, Memory memory) : dev_(&dev), size_(bytes) {
  VkBufferCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  ci.size = std::max<size_t>(bytes, 4);
  ci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  ci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(dev.handle(), &ci, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev.handle(), buffer_, &req);
  const VkMemoryPropertyFlags want =
      memory == Memory::kHost
          ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
          : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  try {
    ai.memoryTypeIndex = dev.memory_type(req.memoryTypeBits, want);
    check(vkAllocateMemory(dev.handle(), &ai, nullptr, &memory_), "vkAllocateMemory");
    check(vkBindBufferMemory(dev.handle(), buffer_, memory_, 0), "vkBindBufferMemory");
    if (memory == Memory::kHost)
      check(vkMapMemory(dev.handle(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory");
    if (memory == Memory::kDevice) {
      charged_ = req.size;
      dev.charge(static_cast<int64_t>(charged_));
    }
  } catch (...) {
    if (memory_ != VK_NULL_HANDLE) vkFreeMemory(dev.handle(), memory_, nullptr);
    vkDestroyBuffer(dev.handle(), buffer_, nullptr);
    throw;
  }
}

Buffer::~Buffer() {
  if (dev_ == nullptr) return;
  if (charged_ != 0) dev_->charge(-static_cast<int64_t>(charged_));
  if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(dev_->handle(), buffer_, nullptr);
  if (memory_ != VK_NULL_HANDLE) vkFreeMemory(dev_->handle(), memory_, nullptr);
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    this->~Buffer();
    dev_ = o.dev_;
    buffer_ = o.buffer_;
    memory_ = o.memory_;
    mapped_ = o.mapped_;
    size_ = o.size_;
    charged_ = o.charged_;
    o.charged_ = 0;
    o.dev_ = nullptr;
    o.buffer_ = VK_NULL_HANDLE;
    o.memory_ = VK_NULL_HANDLE;
    o.mapped_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

// ---- Kernel ----

Kernel::Kernel(Device& dev, std::span<const uint32_t> spirv, int n_buffers, uint32_t push_bytes)
    : dev_(dev), n_buffers_(n_buffers), push_bytes_(push_bytes) {
  VkDevice d = dev.handle();
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = spirv.size() * sizeof(uint32_t);
  mi.pCode = spirv.data();
  check(vkCreateShaderModule(d, &mi, nullptr, &module_), "vkCreateShaderModule");
  std::vector<VkDescriptorSetLayoutBinding> binds(n_buffers);
  for (int i = 0; i < n_buffers; i++) {
    binds[i] = {};
    binds[i].binding = static_cast<uint32_t>(i);
    binds[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    binds[i].descriptorCount = 1;
    binds[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = static_cast<uint32_t>(binds.size());
  li.pBindings = binds.data();
  check(vkCreateDescriptorSetLayout(d, &li, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout_;
  pl.pushConstantRangeCount = push_bytes > 0 ? 1 : 0;
  pl.pPushConstantRanges = &range;
  check(vkCreatePipelineLayout(d, &pl, nullptr, &layout_), "vkCreatePipelineLayout");
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module_;
  ci.stage.pName = "main";
  ci.layout = layout_;
  check(vkCreateComputePipelines(d, VK_NULL_HANDLE, 1, &ci, nullptr, &pipeline_),
        "vkCreateComputePipelines");
}

Kernel::~Kernel() {
  VkDevice d = dev_.handle();
  vkDestroyPipeline(d, pipeline_, nullptr);
  vkDestroyPipelineLayout(d, layout_, nullptr);
  vkDestroyDescriptorSetLayout(d, set_layout_, nullptr);
  vkDestroyShaderModule(d, module_, nullptr);
}

// ---- Recorder ----

namespace {
constexpr uint32_t kMaxSets = 16384;  // dispatches per submission
constexpr uint32_t kMaxBindings = 8;
}  // namespace

Recorder::Recorder(Device& dev) : dev_(dev) {
  VkDevice d = dev.handle();
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = dev.queue_family();
  check(vkCreateCommandPool(d, &pi, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(d, &ai, &cmd_), "vkAllocateCommandBuffers");
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxSets * kMaxBindings};
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.maxSets = kMaxSets;
  dp.poolSizeCount = 1;
  dp.pPoolSizes = &size;
  check(vkCreateDescriptorPool(d, &dp, nullptr, &descriptors_), "vkCreateDescriptorPool");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(d, &fi, nullptr, &fence_), "vkCreateFence");
}

Recorder::~Recorder() {
  VkDevice d = dev_.handle();
  if (recording_) vkEndCommandBuffer(cmd_);
  vkDestroyFence(d, fence_, nullptr);
  vkDestroyDescriptorPool(d, descriptors_, nullptr);
  vkDestroyCommandPool(d, pool_, nullptr);
}

void Recorder::begin_if_needed() {
  if (recording_) return;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  recording_ = true;
}

// Every later command waits for the writes of every earlier one (shaders and copies).
void Recorder::barrier() {
  if (!any_) return;
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void Recorder::dispatch(const Kernel& k, std::initializer_list<const Buffer*> buffers,
                        const void* push, uint32_t gx, uint32_t gy, uint32_t gz) {
  if (static_cast<int>(buffers.size()) != k.n_buffers() || buffers.size() > kMaxBindings)
    throw util::Error("vulkan: dispatch with the wrong number of buffers");
  begin_if_needed();
  VkDescriptorSetLayout layout = k.set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = descriptors_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set;
  check(vkAllocateDescriptorSets(dev_.handle(), &ai, &set), "vkAllocateDescriptorSets");
  VkDescriptorBufferInfo infos[kMaxBindings];
  VkWriteDescriptorSet writes[kMaxBindings];
  uint32_t i = 0;
  for (const Buffer* b : buffers) {
    infos[i] = {b->handle(), 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
    i++;
  }
  vkUpdateDescriptorSets(dev_.handle(), i, writes, 0, nullptr);
  barrier();
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline());
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout(), 0, 1, &set, 0,
                          nullptr);
  if (k.push_bytes() > 0)
    vkCmdPushConstants(cmd_, k.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, k.push_bytes(), push);
  vkCmdDispatch(cmd_, gx, gy, gz);
  any_ = true;
}

void Recorder::copy(const Buffer& src, const Buffer& dst, size_t bytes, size_t so, size_t d_o) {
  begin_if_needed();
  barrier();
  VkBufferCopy region{so, d_o, bytes};
  vkCmdCopyBuffer(cmd_, src.handle(), dst.handle(), 1, &region);
  any_ = true;
}

void Recorder::fill(const Buffer& dst, size_t offset, size_t bytes, uint32_t value) {
  begin_if_needed();
  barrier();
  vkCmdFillBuffer(cmd_, dst.handle(), offset, bytes, value);
  any_ = true;
}

void Recorder::submit_and_wait() {
  if (!recording_) return;
  VkDevice d = dev_.handle();
  // Host reads of host-visible results after the last command.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  recording_ = false;
  any_ = false;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  {
    std::lock_guard<std::mutex> lock(dev_.queue_mutex());
    dev_.count_submission();
    const VkResult sr = injected_loss() ? VK_ERROR_DEVICE_LOST
                                        : vkQueueSubmit(dev_.queue(), 1, &si, fence_);
    if (sr != VK_SUCCESS) {  // nothing was submitted: the recorder is ready for the next step
      vkResetCommandBuffer(cmd_, 0);
      vkResetDescriptorPool(d, descriptors_, 0);
      check(sr, "vkQueueSubmit");
    }
  }
  const VkResult r = vkWaitForFences(d, 1, &fence_, VK_TRUE, UINT64_MAX);
  vkResetFences(d, 1, &fence_);
  vkResetCommandBuffer(cmd_, 0);
  vkResetDescriptorPool(d, descriptors_, 0);
  check(r, "vkWaitForFences");
}

}  // namespace gpu::vk
