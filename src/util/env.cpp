#include "util/env.h"

#include <cstdlib>
#include <sstream>

#include "util/duration.h"
#include "util/log.h"

namespace util {
namespace {

std::string getenv_clean(const char* name) {
  const char* v = std::getenv(name);
  return v ? clean_env_value(v) : std::string();
}

int getenv_int(const char* name, int def) {
  std::string v = getenv_clean(name);
  if (v.empty()) return def;
  try {
    size_t pos = 0;
    long long n = std::stoll(v, &pos);
    if (pos == v.size()) return static_cast<int>(n);
  } catch (...) {
  }
  LOG_WARN("invalid environment variable, using default: {}={}", name, v);
  return def;
}

uint64_t getenv_uint64(const char* name, uint64_t def) {
  std::string v = getenv_clean(name);
  if (v.empty()) return def;
  if (v.find_first_not_of("0123456789") == std::string::npos && v.size() <= 19)
    return std::stoull(v);
  LOG_WARN("invalid environment variable, using default: {}={}", name, v);
  return def;
}

int64_t getenv_duration(const char* name, int64_t def) {
  std::string v = getenv_clean(name);
  if (v.empty()) return def;
  auto d = parse_keep_alive_env(v);
  return d ? *d : def;
}

}  // namespace

std::string clean_env_value(std::string_view v) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!v.empty() && ws(v.front())) v.remove_prefix(1);
  while (!v.empty() && ws(v.back())) v.remove_suffix(1);
  if (v.size() >= 2 &&
      ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\''))) {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

bool parse_env_bool(std::string_view v) {
  if (v.empty()) return false;
  for (auto f : {"0", "f", "F", "false", "FALSE", "False"})
    if (v == f) return false;
  return true;  // true spellings and anything unparsable
}

HostAddress parse_ollama_host(std::string_view raw) {
  HostAddress a;
  std::string s = clean_env_value(raw);
  int default_port = 11434;
  if (s == "ollama.com") {
    a.scheme = "https";
    a.host = "ollama.com";
    a.port = 443;
    return a;
  }
  if (auto p = s.find("://"); p != std::string::npos) {
    a.scheme = s.substr(0, p);
    s = s.substr(p + 3);
    default_port = a.scheme == "https" ? 443 : 80;
  }
  if (auto slash = s.find('/'); slash != std::string::npos) {
    a.path = s.substr(slash);
    if (a.path == "/") a.path.clear();
    s = s.substr(0, slash);
  }
  std::string host = s, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close != std::string::npos) {
      host = s.substr(1, close - 1);
      if (close + 1 < s.size() && s[close + 1] == ':') port = s.substr(close + 2);
    }
  } else if (auto c = s.rfind(':'); c != std::string::npos && s.find(':') == c) {
    host = s.substr(0, c);
    port = s.substr(c + 1);
  }
  // ":8080" listens on every interface (Go's empty host); a bare empty value is loopback.
  a.host = host.empty() ? (port.empty() ? "127.0.0.1" : "0.0.0.0") : host;
  a.port = default_port;
  if (!port.empty()) {
    bool ok = port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5;
    int n = ok ? std::stoi(port) : -1;
    if (ok && n >= 0 && n <= 65535)
      a.port = n;
    else
      LOG_WARN("invalid port, using default: port={} default={}", port, default_port);
  }
  return a;
}

std::string HostAddress::host_port() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string HostAddress::client_url() const {
  HostAddress c = *this;
  if (c.host == "0.0.0.0") c.host = "127.0.0.1";
  if (c.host == "::") c.host = "::1";
  return c.scheme + "://" + c.host_port() + c.path;
}

Config Config::from_env() {
  Config c;
  const char* home = std::getenv("HOME");
  c.home_dir = std::string(home ? home : ".") + "/.ollama";
  c.host = parse_ollama_host(getenv_clean("OLLAMA_HOST"));
  c.models_dir = getenv_clean("OLLAMA_MODELS");
  if (c.models_dir.empty()) c.models_dir = c.home_dir + "/models";
  c.keep_alive_ns = getenv_duration("OLLAMA_KEEP_ALIVE", 5 * 60 * kNanosPerSecond);
  c.context_length = getenv_int("OLLAMA_CONTEXT_LENGTH", 0);
  c.num_parallel = std::max(1, getenv_int("OLLAMA_NUM_PARALLEL", 1));
  c.max_loaded_models = getenv_int("OLLAMA_MAX_LOADED_MODELS", 0);
  c.max_queue = getenv_int("OLLAMA_MAX_QUEUE", 512);
  std::string origins = getenv_clean("OLLAMA_ORIGINS");
  std::stringstream ss(origins);
  for (std::string o; std::getline(ss, o, ',');) {
    o = clean_env_value(o);
    if (!o.empty()) c.origins.push_back(o);
  }
  std::string dbg = getenv_clean("OLLAMA_DEBUG");
  if (!dbg.empty()) {
    if (dbg.find_first_not_of("0123456789") == std::string::npos)
      c.debug = std::stoi(dbg);
    else
      c.debug = parse_env_bool(dbg) ? 1 : 0;
  }
  c.noprune = parse_env_bool(getenv_clean("OLLAMA_NOPRUNE"));
  c.nohistory = parse_env_bool(getenv_clean("OLLAMA_NOHISTORY"));
  c.flash_attention = parse_env_bool(getenv_clean("OLLAMA_FLASH_ATTENTION"));
  c.kv_cache_type = getenv_clean("OLLAMA_KV_CACHE_TYPE");
  c.load_timeout_ns = getenv_duration("OLLAMA_LOAD_TIMEOUT", 5 * 60 * kNanosPerSecond);
  c.max_transfer_streams = getenv_int("OLLAMA_MAX_TRANSFER_STREAMS", 4);
  c.no_cloud = parse_env_bool(getenv_clean("OLLAMA_NO_CLOUD"));
  c.auth = parse_env_bool(getenv_clean("OLLAMA_AUTH"));
  c.editor = getenv_clean("OLLAMA_EDITOR");
  if (c.editor.empty()) c.editor = getenv_clean("VISUAL");
  if (c.editor.empty()) c.editor = getenv_clean("EDITOR");
  c.api_key = getenv_clean("OLLAMA_API_KEY");
  c.num_threads = getenv_int("OLLAMA_NUM_THREADS", 0);
  c.llm_library = getenv_clean("OLLAMA_LLM_LIBRARY");
  c.gpu_overhead = getenv_uint64("OLLAMA_GPU_OVERHEAD", 0);
  if (const std::string v = getenv_clean("OLLAMA_VULKAN"); !v.empty()) c.vulkan = parse_env_bool(v);
  c.vk_visible_devices = getenv_clean("GGML_VK_VISIBLE_DEVICES");
  return c;
}

std::vector<std::string> Config::api_keys() const {
  std::vector<std::string> out;
  std::stringstream ss(api_key);
  for (std::string k; std::getline(ss, k, ',');) {
    k = clean_env_value(k);
    if (!k.empty()) out.push_back(k);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Config::describe() const {
  std::string origins_s;
  for (auto& o : origins) origins_s += (origins_s.empty() ? "" : ",") + o;
  return {
      {"OLLAMA_HOST", host.client_url()},
      {"OLLAMA_MODELS", models_dir},
      {"OLLAMA_KEEP_ALIVE", keep_alive_ns == kForever ? "-1" : format_go_duration(keep_alive_ns)},
      {"OLLAMA_CONTEXT_LENGTH", std::to_string(context_length)},
      {"OLLAMA_NUM_PARALLEL", std::to_string(num_parallel)},
      {"OLLAMA_MAX_LOADED_MODELS", std::to_string(max_loaded_models)},
      {"OLLAMA_MAX_QUEUE", std::to_string(max_queue)},
      {"OLLAMA_ORIGINS", origins_s},
      {"OLLAMA_DEBUG", std::to_string(debug)},
      {"OLLAMA_NOPRUNE", noprune ? "true" : "false"},
      {"OLLAMA_FLASH_ATTENTION", flash_attention ? "true" : "false"},
      {"OLLAMA_KV_CACHE_TYPE", kv_cache_type},
      {"OLLAMA_LOAD_TIMEOUT", format_go_duration(load_timeout_ns)},
      {"OLLAMA_NUM_THREADS", std::to_string(num_threads)},
      {"OLLAMA_LLM_LIBRARY", llm_library},
      {"OLLAMA_GPU_OVERHEAD", std::to_string(gpu_overhead)},
      {"OLLAMA_VULKAN", vulkan ? (*vulkan ? "true" : "false") : ""},
      // Whether keys are required, never the keys.
      {"OLLAMA_API_KEY", api_keys().empty() ? "" : std::to_string(api_keys().size()) + " key(s)"},
  };
}

}  // namespace util
