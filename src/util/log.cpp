#include "util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace util {
void init_logging(int debug_level) {
  static auto logger = [] {
    auto l = spdlog::stderr_color_mt("ollama");
    spdlog::set_default_logger(l);
    spdlog::set_pattern("time=%Y-%m-%dT%H:%M:%S.%e%z level=%l msg=\"%v\"");
    return l;
  }();
  (void)logger;
  spdlog::set_level(debug_level >= 2   ? spdlog::level::trace
                    : debug_level == 1 ? spdlog::level::debug
                                       : spdlog::level::info);
}
}  // namespace util
