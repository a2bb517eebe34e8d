// `ollama pull` and `ollama push`: stream /api/pull and /api/push into the progress display.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/run.h"
#include "client/client.h"
#include "store/name.h"
#include "util/error.h"

namespace cli {
namespace {

using nlohmann::json;

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Ollama's progress callback: a bar per digest, a spinner per status change. `pull` skips the
// initial completed == 0 object of each layer and labels bars "pulling <12 hex>:"; push labels
// them with the server's status.
class TransferDisplay {
 public:
  explicit TransferDisplay(bool pull) : pull_(pull) {}

  void on(const json& r) {
    std::string digest = str(r, "digest"), status = str(r, "status");
    if (!digest.empty()) {
      int64_t completed = num(r, "completed");
      if (pull_ && completed == 0) return;
      if (spinner_) p_.stop_spinner(spinner_);
      auto it = bars_.find(digest);
      if (it == bars_.end()) {
        std::string label;
        if (pull_) {
          std::string name = digest;
          bool is_digest = name.rfind("sha256:", 0) == 0;
          if (is_digest) name = name.substr(7);
          name = trim(name);
          if (is_digest) name = name.substr(0, std::min<size_t>(12, name.size()));
          label = "pulling " + name + ":";
        } else {
          label = !status.empty()
                      ? status
                      : "pushing " + digest.substr(std::min<size_t>(7, digest.size()), 12) + "...";
        }
        it = bars_.emplace(digest, p_.add_bar(label, num(r, "total"), completed)).first;
      }
      p_.set_bar(it->second, completed);
    } else if (status != status_) {
      if (spinner_) p_.stop_spinner(spinner_);
      status_ = status;
      spinner_ = p_.add_spinner(status_);
    }
  }

  void stop() { p_.stop(); }

 private:
  static std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  }

  bool pull_;
  Progress p_;
  std::map<std::string, Bar*> bars_;
  std::string status_;
  Spinner* spinner_ = nullptr;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void pull_model(const std::string& name, bool insecure) {
  client::Client c = client::Client::from_env();
  TransferDisplay display(true);
  json req = {{"name", name}, {"insecure", insecure}};
  try {
    c.stream("POST", "/api/pull", req, [&](const json& r) { display.on(r); });
  } catch (...) {
    display.stop();
    throw;
  }
  display.stop();
}

int cmd_pull(const Invocation& inv) {
  pull_model(inv.args[0], inv.flag("insecure"));
  return 0;
}

int cmd_push(const Invocation& inv) {
  const std::string& name = inv.args[0];
  store::ModelName n = store::ModelName::parse(name);
  bool ollama_host = ends_with(n.host, ".ollama.ai") || ends_with(n.host, ".ollama.com");
  client::Client c = client::Client::from_env();
  if (ollama_host) {
    // Ollama checks sign-in first. A server without /api/me (404) cannot be signed in either.
    try {
      c.call("POST", "/api/me");
    } catch (const client::StatusError& e) {
      if (e.kind() != util::ErrorKind::kUnauthorized && e.kind() != util::ErrorKind::kNotFound)
        throw;
      std::printf("You need to be signed in to push models to ollama.com.\n\n");
      return 0;
    }
  }
  TransferDisplay display(false);
  json req = {{"name", name}, {"insecure", inv.flag("insecure")}};
  try {
    c.stream("POST", "/api/push", req, [&](const json& r) { display.on(r); });
  } catch (const std::exception& e) {
    display.stop();
    std::string msg = lower(e.what());
    if (msg.find("access denied") != std::string::npos ||
        msg.find("unauthorized") != std::string::npos)
      throw util::Error(
          "you are not authorized to push to this namespace, create the model under a namespace "
          "you own");
    throw;
  }
  display.stop();
  std::string destination = n.display_long();
  if (ollama_host) {
    std::string shortest = n.display_shortest();
    if (ends_with(shortest, ":latest")) shortest.resize(shortest.size() - 7);
    destination = "https://ollama.com/" + shortest;
  }
  std::printf("\nYou can find your model at:\n\n\t%s\n", destination.c_str());
  return 0;
}

}  // namespace cli
