// list, ps, cp, rm, stop: the model-management commands.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "api/time.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/table.h"
#include "client/client.h"
#include "util/error.h"

namespace cli {
namespace {

using nlohmann::json;

int64_t now_unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// A timestamp field as Unix nanoseconds; is_zero when absent or Go's zero time.
int64_t time_field(const json& j, const char* key, bool& is_zero) {
  std::string s = str(j, key);
  is_zero = true;
  if (s.empty()) return 0;
  try {
    api::Timestamp t = api::parse_rfc3339(s);
    is_zero = t.is_zero();
    // Go's time arithmetic saturates; keep far-future times (infinite keep_alive) in range.
    constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;
    if (t.unix_seconds > kMaxSeconds) return INT64_MAX;
    if (t.unix_seconds < -kMaxSeconds) return INT64_MIN;
    return t.unix_nanos();
  } catch (const std::exception&) {
    return 0;
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const json& models_of(const json& resp) {
  static const json kEmpty = json::array();
  if (resp.is_object() && resp.contains("models") && resp["models"].is_array())
    return resp["models"];
  return kEmpty;
}

// Stops a model by asking for keep_alive 0 (what `ollama stop` and `rm` send).
void unload(const client::Client& c, const std::string& model) {
  c.stream("POST", "/api/generate", json{{"model", model}, {"keep_alive", 0}}, [](const json&) {});
}

}  // namespace

std::string format_list(const json& tags, const std::string& prefix, int64_t now_ns) {
  std::vector<TableRow> rows;
  for (const json& m : models_of(tags)) {
    std::string name = str(m, "name");
    if (!prefix.empty() && lower(name).rfind(lower(prefix), 0) != 0) continue;
    std::string size = str(m, "remote_model").empty() ? human_bytes(num(m, "size")) : "-";
    bool zero;
    int64_t modified = time_field(m, "modified_at", zero);
    rows.push_back(
        {name, str(m, "digest").substr(0, 12), size, human_time(modified, now_ns, zero, "Never")});
  }
  return render_table({"NAME", "ID", "SIZE", "MODIFIED"}, rows);
}

std::string format_processor(int64_t size, int64_t size_vram) {
  if (size_vram == 0) return "100% CPU";
  if (size_vram == size) return "100% GPU";
  if (size_vram > size || size == 0) return "Unknown";
  double cpu = std::round(static_cast<double>(size - size_vram) / static_cast<double>(size) * 100);
  int c = static_cast<int>(cpu);
  return std::to_string(c) + "%/" + std::to_string(100 - c) + "% CPU/GPU";
}

std::string format_ps(const json& ps, const std::string& prefix, int64_t now_ns) {
  std::vector<TableRow> rows;
  for (const json& m : models_of(ps)) {
    std::string name = str(m, "name");
    if (!prefix.empty() && name.rfind(prefix, 0) != 0) continue;
    bool zero;
    int64_t expires = time_field(m, "expires_at", zero);
    std::string until =
        (!zero && now_ns > expires) ? "Stopping..." : human_time(expires, now_ns, zero, "Never");
    int64_t size = num(m, "size");
    rows.push_back({name, str(m, "digest").substr(0, 12), human_bytes(size),
                    format_processor(size, num(m, "size_vram")),
                    std::to_string(num(m, "context_length")), until});
  }
  return render_table({"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}, rows);
}

int cmd_list(const Invocation& inv) {
  json tags = client::Client::from_env().call("GET", "/api/tags");
  std::string out = format_list(tags, inv.args.empty() ? "" : inv.args[0], now_unix_nanos());
  std::fputs(out.c_str(), stdout);
  return 0;
}

int cmd_ps(const Invocation& inv) {
  json ps = client::Client::from_env().call("GET", "/api/ps");
  std::string out = format_ps(ps, inv.args.empty() ? "" : inv.args[0], now_unix_nanos());
  std::fputs(out.c_str(), stdout);
  return 0;
}

int cmd_cp(const Invocation& inv) {
  client::Client::from_env().call("POST", "/api/copy",
                                  json{{"source", inv.args[0]}, {"destination", inv.args[1]}});
  std::printf("copied '%s' to '%s'\n", inv.args[0].c_str(), inv.args[1].c_str());
  return 0;
}

int cmd_stop(const Invocation& inv) {
  try {
    unload(client::Client::from_env(), inv.args[0]);
  } catch (const client::StatusError& e) {
    if (e.kind() == util::ErrorKind::kNotFound)
      throw util::Error("couldn't find model \"" + inv.args[0] + "\" to stop");
    throw;
  }
  return 0;
}

int cmd_rm(const Invocation& inv) {
  client::Client c = client::Client::from_env();
  for (const std::string& name : inv.args) {
    // Unload first so a running model does not keep its blobs busy; "not found" is fine.
    try {
      unload(c, name);
    } catch (const std::exception& e) {
      if (lower(e.what()).find("not found") == std::string::npos)
        std::fprintf(stderr, "Warning: unable to stop model '%s'\n", name.c_str());
    }
    c.call("DELETE", "/api/delete", json{{"model", name}});
    std::printf("deleted '%s'\n", name.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace cli
