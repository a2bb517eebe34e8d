// The compute shaders (shaders/*.comp), compiled to SPIR-V by glslc at build time and
// embedded by cmake/embed_spirv.cmake.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace gpu::vk {

// The SPIR-V words of shaders/<name>.comp; empty when there is no such shader.
std::span<const uint32_t> shader_code(std::string_view name);

}  // namespace gpu::vk
