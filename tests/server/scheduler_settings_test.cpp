// The scheduler's settings from the environment (server/running_models.cpp): which switch
// puts models on the GPU, and the device memory the fit leaves free.
#include <gtest/gtest.h>

#include "server/running_models.h"
#include "util/env.h"

namespace {

sched::Settings from(const char* llm_library, std::optional<bool> vulkan, uint64_t overhead = 0,
                     const char* visible = "") {
  util::Config c = util::Config::from_env();
  c.llm_library = llm_library;
  c.vk_visible_devices = visible;
  c.vulkan = vulkan;
  c.gpu_overhead = overhead;
  return server::scheduler_settings(c);
}

TEST(SchedulerSettings, OllamaVulkanOrTheLibraryNamePutModelsOnTheGpu) {
  EXPECT_FALSE(from("", std::nullopt).gpu);  // the CPU by default
  EXPECT_TRUE(from("vulkan", std::nullopt).gpu);
  EXPECT_FALSE(from("cpu_avx2", std::nullopt).gpu);
  EXPECT_TRUE(from("", true).gpu);
  EXPECT_FALSE(from("vulkan", false).gpu);  // OLLAMA_VULKAN=0 wins, as in Ollama
  EXPECT_FALSE(from("cpu", true).gpu);      // and so does naming a CPU library
  EXPECT_EQ(from("vulkan", std::nullopt, 1u << 30).gpu_overhead, 1u << 30);
}

// A CPU renderer (lavapipe) is taken only when asked for by name: the vulkan library, or the
// devices listed in GGML_VK_VISIBLE_DEVICES; OLLAMA_VULKAN=1 alone wants a real GPU.
TEST(SchedulerSettings, ACpuRendererRunsModelsOnlyWhenNamed) {
  EXPECT_FALSE(from("", true).gpu_cpu_device);
  EXPECT_TRUE(from("", true, 0, "0").gpu_cpu_device);
  EXPECT_TRUE(from("vulkan", std::nullopt).gpu_cpu_device);
}

}  // namespace
