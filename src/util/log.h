// Process-wide logging (spdlog) with Ollama's levels: OLLAMA_DEBUG=1 debug, 2 trace.
#pragma once
#include <spdlog/spdlog.h>

namespace util {
// Sets the level from the debug setting (0 info, 1 debug, >=2 trace). Safe to call again.
void init_logging(int debug_level);
}  // namespace util

#define LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
