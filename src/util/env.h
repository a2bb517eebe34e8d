// Every OLLAMA_* setting, read in one place (spec §13). Nothing else calls getenv for them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace util {

// A parsed OLLAMA_HOST (spec §1.1).
struct HostAddress {
  std::string scheme = "http";
  std::string host = "127.0.0.1";  // IPv6 without brackets
  int port = 11434;
  std::string path;  // URL path prefix, "" or "/prefix"

  // Base URL a client uses: unspecified bind addresses (0.0.0.0, ::) become loopback.
  std::string client_url() const;
  // "host:port" with IPv6 brackets, for logs.
  std::string host_port() const;
};

HostAddress parse_ollama_host(std::string_view value);

struct Config {
  HostAddress host;
  std::string models_dir;            // OLLAMA_MODELS, default $HOME/.ollama/models
  std::string home_dir;              // ~/.ollama
  int64_t keep_alive_ns;             // OLLAMA_KEEP_ALIVE, default 5m; forever = util::kForever
  int context_length = 0;            // OLLAMA_CONTEXT_LENGTH, 0 = auto
  int num_parallel = 1;              // OLLAMA_NUM_PARALLEL
  int max_loaded_models = 0;         // OLLAMA_MAX_LOADED_MODELS, 0 = 3 on CPU
  int max_queue = 512;               // OLLAMA_MAX_QUEUE
  std::vector<std::string> origins;  // OLLAMA_ORIGINS entries
  int debug = 0;                     // OLLAMA_DEBUG: 0 info, 1 debug, 2 trace
  bool noprune = false;              // OLLAMA_NOPRUNE
  bool nohistory = false;            // OLLAMA_NOHISTORY
  bool flash_attention = false;      // OLLAMA_FLASH_ATTENTION
  std::string kv_cache_type;         // OLLAMA_KV_CACHE_TYPE ("" = f16)
  int64_t load_timeout_ns;           // OLLAMA_LOAD_TIMEOUT, default 5m
  int max_transfer_streams = 4;      // OLLAMA_MAX_TRANSFER_STREAMS
  bool no_cloud = false;             // OLLAMA_NO_CLOUD
  bool auth = false;                 // OLLAMA_AUTH
  std::string editor;                // OLLAMA_EDITOR / VISUAL / EDITOR
  std::string api_key;               // OLLAMA_API_KEY: optional bearer token for the local API
  // OLLAMA_API_KEY's entries (one key or a comma-separated list), trimmed, empty ones dropped.
  std::vector<std::string> api_keys() const;
  int num_threads = 0;  // OLLAMA_NUM_THREADS: 0 = physical cores
  // OLLAMA_LLM_LIBRARY: "vulkan" runs models on the GPU (the Vulkan backend; any device the
  // loader lists, Mesa's lavapipe included), "cpu"/"cpu_avx2"/... or empty: on the CPU.
  std::string llm_library;
  uint64_t gpu_overhead = 0;  // OLLAMA_GPU_OVERHEAD: bytes of device memory left free
  // OLLAMA_VULKAN: true runs models on the Vulkan device (as OLLAMA_LLM_LIBRARY=vulkan),
  // false keeps them on the CPU whatever OLLAMA_LLM_LIBRARY says; unset: OLLAMA_LLM_LIBRARY.
  std::optional<bool> vulkan;
  // GGML_VK_VISIBLE_DEVICES as given (device.cpp reads it to pick the device); naming devices
  // there lets a CPU renderer (lavapipe) run models, which OLLAMA_VULKAN=1 alone does not.
  std::string vk_visible_devices;

  // Reads the environment now. Cheap; call once at start-up and pass the result around.
  static Config from_env();
  // The (name, value) pairs logged as "server config" at start-up.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

// Go strconv.ParseBool semantics, with Ollama's rule: an unparsable non-empty value is true.
bool parse_env_bool(std::string_view v);
// Trims whitespace and one layer of surrounding quotes.
std::string clean_env_value(std::string_view v);

}  // namespace util
