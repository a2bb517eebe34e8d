// One turn of `ollama run`: the model load, a one-shot generate, a chat turn; each streams to
// stdout with thinking markers, word wrap and the --verbose summary like Ollama's client.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "cli/run.h"
#include "cli/run_display.h"
#include "cli/wait_spinner.h"
#include "client/client.h"
#include "util/duration.h"
#include "util/json.h"

namespace cli {
namespace {

using nlohmann::json;

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted.store(true); }

void out(const std::string& s) {
  if (s.empty()) return;
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Writes each chunk to stdout, taking the wait spinner down first (as soon as anything
// visible can arrive).
class ResponsePrinter {
 public:
  ResponsePrinter(const RunOptions& opts, bool plain, WaitSpinner& spinner)
      : opts_(opts), spinner_(spinner), renderer_(opts.hide_thinking, plain) {}

  // tool_calls_first: chat prints tool calls before the content, generate after it.
  void chunk(const std::string& thinking, const std::string& content, const json& tool_calls,
             bool tool_calls_first) {
    if (!content.empty() || !opts_.hide_thinking) spinner_.stop_and_clear();
    out(renderer_.chunk(thinking, content, tool_calls, tool_calls_first, opts_.word_wrap,
                        stdout_columns()));
  }

  const std::string& thinking() const { return renderer_.thinking(); }

 private:
  const RunOptions& opts_;
  WaitSpinner& spinner_;
  ResponseRenderer renderer_;
};

// The `format` field: "json" as a JSON string, a schema as JSON, nothing when unset.
void put_format(json& req, const std::string& format) {
  if (format.empty()) return;
  if (format == "json") {
    req["format"] = "json";
    return;
  }
  json parsed = util::parse_json_or_discarded(format);
  req["format"] = parsed.is_discarded() ? json(format) : parsed;
}

void put_common(json& req, const RunOptions& opts) {
  put_format(req, opts.format);
  if (opts.options.is_object() && !opts.options.empty()) req["options"] = opts.options;
  if (opts.keep_alive_ns) req["keep_alive"] = keep_alive_json(*opts.keep_alive_ns);
  if (!opts.think.is_null()) req["think"] = opts.think;
}

}  // namespace

int stdout_columns() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) return ws.ws_col;
  return 0;
}

json keep_alive_json(int64_t ns) {
  if (ns < 0) return -1;
  return util::format_go_duration(ns);
}

std::atomic<bool>& interrupted() { return g_interrupted; }

InterruptGuard::InterruptGuard() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
  sigaction(SIGINT, &sa, &old_);
}

InterruptGuard::~InterruptGuard() { sigaction(SIGINT, &old_, nullptr); }

json show_model(const std::string& model, const json& extra) {
  json req = {{"model", model}};
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) req[it.key()] = it.value();
  return client::Client::from_env().call("POST", "/api/show", req);
}

void infer_think(const json& show, RunOptions& opts) {
  if (opts.think_explicit) return;
  opts.think = nullptr;
  if (show.contains("capabilities") && show["capabilities"].is_array())
    for (auto& c : show["capabilities"])
      if (c == "thinking") opts.think = true;
}

void load_model(const RunOptions& opts) {
  WaitSpinner spinner;
  json req = {{"model", opts.model}};
  if (opts.keep_alive_ns) req["keep_alive"] = keep_alive_json(*opts.keep_alive_ns);
  if (!opts.think.is_null()) req["think"] = opts.think;
  client::Client::from_env().stream("POST", "/api/generate", req, [](const json&) {});
}

void generate_once(const RunOptions& opts) {
  client::Client c = client::Client::from_env();
  WaitSpinner spinner;
  bool plain = !isatty(STDOUT_FILENO);
  ResponsePrinter printer(opts, plain, spinner);
  json req = {{"model", opts.model}, {"prompt", opts.prompt}};
  if (!opts.system.empty()) req["system"] = opts.system;
  put_common(req, opts);

  json latest;
  InterruptGuard guard;
  interrupted().store(false);
  try {
    c.stream(
        "POST", "/api/generate", req,
        [&](const json& r) {
          latest = r;
          printer.chunk(str(r, "thinking"), str(r, "response"), r.value("tool_calls", json()),
                        false);
        },
        &interrupted());
  } catch (const client::Cancelled&) {
    return;
  }
  spinner.stop_and_clear();
  if (!opts.prompt.empty()) out("\n\n");
  if (!latest.value("done", false)) return;
  if (opts.verbose) {
    std::string stats = format_verbose_stats(latest);
    std::fputs(stats.c_str(), stderr);
    std::fflush(stderr);
  }
}

json chat_once(const RunOptions& opts) {
  client::Client c = client::Client::from_env();
  WaitSpinner spinner;
  ResponsePrinter printer(opts, false, spinner);
  json req = {{"model", opts.model}, {"messages", opts.messages}};
  put_common(req, opts);

  json latest;
  std::string role = "assistant", content;
  InterruptGuard guard;
  interrupted().store(false);
  try {
    c.stream(
        "POST", "/api/chat", req,
        [&](const json& r) {
          latest = r;
          json msg = r.value("message", json::object());
          if (msg.contains("role") && msg["role"].is_string()) role = msg["role"];
          std::string piece = str(msg, "content");
          content += piece;
          printer.chunk(str(msg, "thinking"), piece, msg.value("tool_calls", json()), true);
        },
        &interrupted());
  } catch (const client::Cancelled&) {
    return nullptr;
  }
  spinner.stop_and_clear();
  if (!opts.messages.empty()) out("\n\n");
  if (opts.verbose) {
    std::string stats = format_verbose_stats(latest);
    std::fputs(stats.c_str(), stderr);
    std::fflush(stderr);
  }
  json msg = {{"role", role}, {"content", content}};
  if (!printer.thinking().empty()) msg["thinking"] = printer.thinking();
  return msg;
}

}  // namespace cli
