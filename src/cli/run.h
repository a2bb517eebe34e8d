// Shared pieces of `ollama run`, `pull` and `push`: session options, the model load, one chat or
// generate turn, the interactive session, and Ctrl-C handling.
#pragma once
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace cli {

// pull with Ollama's progress display on stderr (one bar per layer, spinners for statuses).
void pull_model(const std::string& name, bool insecure);

struct RunOptions {
  std::string model;
  std::string parent_model;
  std::string prompt;
  nlohmann::json messages = nlohmann::json::array();        // session messages
  nlohmann::json model_messages = nlohmann::json::array();  // MESSAGE history baked in
  bool word_wrap = true;
  std::string format;  // "" or "json"
  std::string system;
  nlohmann::json options = nlohmann::json::object();  // /set parameter values
  bool multimodal = false;
  std::optional<int64_t> keep_alive_ns;
  nlohmann::json think;  // null = unset, else true/false or a level string
  bool think_explicit = false;
  bool hide_thinking = false;
  bool verbose = false;
};

// Columns of the terminal on stdout; 0 when stdout is not a terminal.
int stdout_columns();

// keep_alive as Ollama's client writes it: "5m0s" style, -1 when negative.
nlohmann::json keep_alive_json(int64_t ns);

// Raised by SIGINT while a guard is installed; stream() calls poll it as their cancel flag.
std::atomic<bool>& interrupted();

// Installs the SIGINT handler (no SA_RESTART, so a blocked read returns EINTR) for its lifetime.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_ {};
};

// POST /api/show; nullopt-free: throws client errors (StatusError 404 for a missing model).
nlohmann::json show_model(const std::string& model, const nlohmann::json& extra = nullptr);

// think = true when the model has the thinking capability and the user did not choose.
void infer_think(const nlohmann::json& show, RunOptions& opts);

// Loads the model (empty generate with keep_alive and think) behind a spinner.
void load_model(const RunOptions& opts);

// One-shot POST /api/generate, streamed to stdout. Returns normally when cancelled.
void generate_once(const RunOptions& opts);

// One chat turn over opts.messages; returns the assistant message, or null when cancelled.
nlohmann::json chat_once(const RunOptions& opts);

// The interactive session (readline prompt, slash commands). Returns the exit status.
int run_interactive(RunOptions& opts);

}  // namespace cli
