// `ollama run MODEL [PROMPT]`: options from flags and stdin, show (pulling a missing model),
// then an embedding, a one-shot generate, or the interactive session (cmd.go RunHandler).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run.h"
#include "cli/run_display.h"
#include "client/client.h"
#include "util/duration.h"
#include "util/error.h"

namespace cli {
namespace {

using nlohmann::json;

bool has_capability(const json& show, const char* cap) {
  auto it = show.find("capabilities");
  if (it == show.end() || !it->is_array()) return false;
  for (auto& c : *it)
    if (c == cap) return true;
  return false;
}

bool is_multimodal(const json& show) {
  if (has_capability(show, "vision") || has_capability(show, "audio")) return true;
  auto p = show.find("projector_info");
  if (p != show.end() && p->is_object() && !p->empty()) return true;
  auto mi = show.find("model_info");
  if (mi != show.end() && mi->is_object())
    for (auto it = mi->begin(); it != mi->end(); ++it)
      if (it.key().find(".vision.") != std::string::npos) return true;
  return false;
}

json parse_think_flag(const std::string& v) {
  if (v.empty() || v == "true") return true;
  if (v == "false") return false;
  if (v == "high" || v == "medium" || v == "low" || v == "max") return v;
  throw util::Error("invalid value for --think: \"" + v +
                    "\" (must be true, false, high, medium, or low)");
}

std::string read_all_stdin() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return s;
}

// POST /api/show, pulling the model first when the server does not have it.
json show_or_pull(const std::string& name, bool insecure) {
  try {
    return show_model(name);
  } catch (const client::StatusError& e) {
    if (e.kind() != util::ErrorKind::kNotFound) throw;
  }
  pull_model(name, insecure);
  return show_model(name);
}

int embed(const RunOptions& opts, const Invocation& inv) {
  if (opts.prompt.empty())
    throw util::Error("embedding models require input text. Usage: ollama run " + opts.model +
                      " \"your text here\"");
  json req = {{"model", opts.model}, {"input", opts.prompt}};
  if (opts.keep_alive_ns) req["keep_alive"] = keep_alive_json(*opts.keep_alive_ns);
  if (inv.has("truncate")) req["truncate"] = inv.flag("truncate");
  if (inv.has("dimensions")) {
    int dims = 0;
    try {
      dims = std::stoi(inv.value("dimensions"));
    } catch (const std::exception&) {
    }
    if (dims > 0) req["dimensions"] = dims;
  }
  json resp = client::Client::from_env().call("POST", "/api/embed", req);
  if (!resp.is_object() || !resp.contains("embeddings") || !resp["embeddings"].is_array() ||
      resp["embeddings"].empty())
    throw util::Error("no embeddings returned");
  std::printf("%s\n", resp["embeddings"][0].dump().c_str());
  return 0;
}

}  // namespace

int cmd_run(const Invocation& inv) {
  RunOptions opts;
  opts.model = inv.args[0];
  opts.format = inv.value("format");
  if (inv.has("think")) {
    opts.think = parse_think_flag(inv.value("think"));
    opts.think_explicit = true;
  }
  opts.hide_thinking = inv.flag("hidethinking");
  opts.verbose = inv.flag("verbose");
  if (std::string ka = inv.value("keepalive"); !ka.empty())
    opts.keep_alive_ns = util::parse_go_duration(ka);

  bool interactive = true;
  std::vector<std::string> prompts(inv.args.begin() + 1, inv.args.end());
  if (!isatty(STDIN_FILENO)) {
    std::string in = read_all_stdin();
    if (!in.empty()) prompts.insert(prompts.begin(), in);
    interactive = false;
  }
  for (size_t i = 0; i < prompts.size(); i++) opts.prompt += (i ? " " : "") + prompts[i];
  if (!prompts.empty()) interactive = false;
  if (!isatty(STDOUT_FILENO)) interactive = false;
  opts.word_wrap = !inv.flag("nowordwrap");

  json info = show_or_pull(opts.model, inv.flag("insecure"));
  infer_think(info, opts);
  opts.multimodal = is_multimodal(info);
  if (info.contains("details") && info["details"].is_object())
    opts.parent_model = info["details"].value("parent_model", "");

  if (has_capability(info, "embedding")) return embed(opts, inv);
  if (has_capability(info, "image"))
    throw util::Error("image generation models are not currently supported");

  if (!interactive) {
    generate_once(opts);
    return 0;
  }
  load_model(opts);
  if (info.contains("messages") && info["messages"].is_array()) {
    opts.model_messages = info["messages"];
    for (auto& m : info["messages"]) {
      std::string role = m.value("role", ""), content = m.value("content", "");
      if (role == "user") {
        std::printf(">>> %s\n", content.c_str());
      } else if (role == "assistant") {
        WordWrapper wrap;
        std::string shown = wrap.feed(content, opts.word_wrap, stdout_columns());
        std::printf("%s\n\n", shown.c_str());
      }
    }
    std::fflush(stdout);
  }
  return run_interactive(opts);
}

}  // namespace cli
