// The interactive `ollama run` session (cmd/interactive.go): read lines, run slash commands,
// send each message with the accumulated conversation over /api/chat.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/line_editor.h"
#include "cli/repl_input.h"
#include "cli/run.h"
#include "client/client.h"
#include "store/name.h"
#include "util/env.h"
#include "util/error.h"

namespace cli {
namespace {

using nlohmann::json;

void err_out(const std::string& s) {
  std::fputs(s.c_str(), stderr);
  std::fflush(stderr);
}

bool contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

void ensure_thinking_support(const std::string& model) {
  try {
    json info = show_model(model);
    if (info.contains("capabilities") && info["capabilities"].is_array())
      for (auto& c : info["capabilities"])
        if (c == "thinking") return;
  } catch (const std::exception&) {
    return;
  }
  std::fprintf(stderr, "warning: model \"%s\" does not support thinking output\n", model.c_str());
}

class Session {
 public:
  Session(RunOptions& opts, LineEditor& editor) : opts_(opts), editor_(editor) {}

  int loop() {
    for (;;) {
      editor_.set_continuation(input_.continuing());
      LineEditor::Result r = editor_.read_line();
      if (r.status == LineEditor::Status::kEof) {
        std::printf("\n");
        return 0;
      }
      if (r.status == LineEditor::Status::kInterrupt) {
        if (r.line.empty())
          std::printf("\nUse Ctrl + d or /bye to exit.\n");
        else
          std::printf("\n");  // the abandoned line stays visible; the prompt starts below it
        std::fflush(stdout);
        input_.reset();
        continue;
      }
      LineResult in = input_.feed(r.line);
      switch (in.kind) {
        case LineResult::kNothing:
          break;
        case LineResult::kSystem:  // a """ system block ended: appended as is
          opts_.system = in.text;
          opts_.messages.push_back({{"role", "system"}, {"content", in.text}});
          say("Set system message.\n");
          break;
        case LineResult::kMessage:
          send(in.text);
          break;
        case LineResult::kCommand:
          if (!command(in.text)) return 0;
          break;
      }
    }
  }

 private:
  static void say(const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  }

  void send(const std::string& text) {
    opts_.messages.push_back({{"role", "user"}, {"content", text}});
    json assistant;
    try {
      assistant = chat_once(opts_);
    } catch (const std::exception& e) {
      std::string m = e.what();
      if (!contains(m, "does not support thinking") && !contains(m, "invalid think value")) throw;
      say("error: " + m + "\n");
      opts_.messages.erase(opts_.messages.end() - 1);
      return;
    }
    if (!assistant.is_null()) opts_.messages.push_back(assistant);
  }

  // Returns false to leave the session.
  bool command(const std::string& line) {
    std::vector<std::string> args = fields(line);
    switch (classify_slash(line)) {
      case SlashCommand::kList: {
        Invocation inv;
        inv.args.assign(args.begin() + 1, args.end());
        cmd_list(inv);
        return true;
      }
      case SlashCommand::kLoad:
        load(args);
        return true;
      case SlashCommand::kSave:
        save(args);
        return true;
      case SlashCommand::kClear:
        opts_.messages = json::array();
        if (!opts_.system.empty())
          opts_.messages.push_back({{"role", "system"}, {"content", opts_.system}});
        say("Cleared session context\n");
        return true;
      case SlashCommand::kSet:
        set(args);
        return true;
      case SlashCommand::kShow:
        show(args);
        return true;
      case SlashCommand::kHelp:
        if (args.size() > 1) {
          const std::string& a = args[1];
          if (a == "set" || a == "/set") err_out(usage_set_text());
          if (a == "show" || a == "/show") err_out(usage_show_text());
          if (a == "shortcut" || a == "shortcuts") err_out(usage_shortcuts_text());
        } else {
          err_out(usage_text(opts_.multimodal));
        }
        return true;
      case SlashCommand::kExit:
        return false;
      case SlashCommand::kUnknown:
        say("Unknown command '" + args[0] + "'. Type /? for help\n");
        return true;
    }
    return true;
  }

  void load(const std::vector<std::string>& args) {
    if (args.size() != 2) {
      say("Usage:\n  /load <modelname>\n");
      return;
    }
    RunOptions orig = opts_;
    opts_.model = args[1];
    opts_.messages = json::array();
    say("Loading model '" + opts_.model + "'\n");
    try {
      json info = show_model(opts_.model);
      infer_think(info, opts_);
      load_model(opts_);
      opts_.model_messages = info.value("messages", json::array());
    } catch (const std::exception& e) {
      std::string m = e.what();
      if (contains(m, "not found")) {
        say("Couldn't find model '" + opts_.model + "'\n");
        opts_ = orig;
        return;
      }
      if (contains(m, "does not support thinking")) {
        say("error: " + m + "\n");
        return;
      }
      throw;
    }
  }

  void save(const std::vector<std::string>& args) {
    if (args.size() != 2) {
      say("Usage:\n  /save <modelname>\n");
      return;
    }
    std::string parent = opts_.parent_model;
    if (!store::ModelName::parse(parent).is_valid()) parent.clear();
    json req = {{"model", args[1]}, {"from", parent.empty() ? opts_.model : parent}};
    if (!opts_.system.empty()) req["system"] = opts_.system;
    if (!opts_.options.empty()) req["parameters"] = opts_.options;
    json messages = opts_.model_messages;
    for (auto& m : opts_.messages) messages.push_back(m);
    if (!messages.empty()) req["messages"] = messages;
    try {
      client::Client::from_env().stream("POST", "/api/create", req, [](const json&) {});
    } catch (const std::exception& e) {
      if (contains(e.what(), "invalid model name")) {
        say("error: The model name '" + args[1] + "' is invalid\n");
        return;
      }
      throw;
    }
    say("Created new model '" + args[1] + "'\n");
  }

  void set(const std::vector<std::string>& args) {
    if (args.size() < 2) {
      err_out(usage_set_text());
      return;
    }
    const std::string& what = args[1];
    if (what == "history") {
      editor_.set_history_enabled(true);
    } else if (what == "nohistory") {
      editor_.set_history_enabled(false);
    } else if (what == "wordwrap" || what == "nowordwrap") {
      opts_.word_wrap = what == "wordwrap";
      say("Set '" + what + "' mode.\n");
    } else if (what == "verbose" || what == "quiet") {
      opts_.verbose = what == "verbose";
      say("Set '" + what + "' mode.\n");
    } else if (what == "think") {
      std::string level = args.size() > 2 ? args[2] : "";
      opts_.think = level.empty() ? json(true) : json(level);
      opts_.think_explicit = true;
      ensure_thinking_support(opts_.model);
      say(level.empty() ? "Set 'think' mode.\n" : "Set 'think' mode to '" + level + "'.\n");
    } else if (what == "nothink") {
      opts_.think = false;
      opts_.think_explicit = true;
      ensure_thinking_support(opts_.model);
      say("Set 'nothink' mode.\n");
    } else if (what == "format") {
      if (args.size() < 3 || args[2] != "json") {
        say("Invalid or missing format. For 'json' mode use '/set format json'\n");
      } else {
        opts_.format = args[2];
        say("Set format to '" + args[2] + "' mode.\n");
      }
    } else if (what == "noformat") {
      opts_.format.clear();
      say("Disabled format.\n");
    } else if (what == "parameter") {
      set_parameter(args);
    } else if (what == "system") {
      if (args.size() < 3) {
        err_out(usage_set_text());
        return;
      }
      std::string rest;
      for (size_t i = 2; i < args.size(); i++) rest += (i > 2 ? " " : "") + args[i];
      LineResult r = input_.begin_system(rest);
      if (r.kind != LineResult::kSystem) return;  // a """ block continues on the next lines
      opts_.system = r.text;
      set_system_message(opts_.messages, r.text);
      say("Set system message.\n");
    } else {
      say("Unknown command '/set " + what + "'. Type /? for help\n");
    }
  }

  void set_parameter(const std::vector<std::string>& args) {
    if (args.size() < 4) {
      err_out(usage_parameters_text());
      return;
    }
    std::vector<std::string> values(args.begin() + 3, args.end());
    json v;
    try {
      v = parse_session_parameter(args[2], values);
    } catch (const std::exception& e) {
      say("Couldn't set parameter: " + go_quote(e.what()) + "\n");
      return;
    }
    std::string joined;
    for (size_t i = 0; i < values.size(); i++) joined += (i ? ", " : "") + values[i];
    say("Set parameter '" + args[2] + "' to '" + joined + "'\n");
    opts_.options[args[2]] = v;
  }

  void show(const std::vector<std::string>& args) {
    if (args.size() < 2) {
      err_out(usage_show_text());
      return;
    }
    json extra = json::object();
    if (!opts_.system.empty()) extra["system"] = opts_.system;
    if (!opts_.options.empty()) extra["options"] = opts_.options;
    json resp;
    try {
      resp = show_model(opts_.model, extra);
    } catch (const std::exception&) {
      say("error: couldn't get model\n");
      throw;
    }
    auto field = [&](const char* k) { return resp.value(k, std::string()); };
    const std::string& what = args[1];
    if (what == "info") {
      err_out(format_show_info(resp, false));
    } else if (what == "license") {
      say(field("license").empty() ? "No license was specified for this model.\n"
                                   : field("license") + "\n");
    } else if (what == "modelfile") {
      say(field("modelfile") + "\n");
    } else if (what == "parameters") {
      say(format_show_parameters(field("parameters"), opts_.options));
    } else if (what == "system") {
      if (!opts_.system.empty())
        say(opts_.system + "\n\n");
      else if (!field("system").empty())
        say(field("system") + "\n\n");
      else
        say("No system message was specified for this model.\n");
    } else if (what == "template") {
      say(field("template").empty() ? "No prompt template was specified for this model.\n"
                                    : field("template") + "\n");
    } else {
      say("Unknown command '/show " + what + "'. Type /? for help\n");
    }
  }

  RunOptions& opts_;
  LineEditor& editor_;
  InputAssembler input_;
};

}  // namespace

int run_interactive(RunOptions& opts) {
  util::Config cfg = util::Config::from_env();
  std::string history_path;
  if (!cfg.home_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.home_dir, ec);
    history_path = (std::filesystem::path(cfg.home_dir) / "history").string();
  }
  LineEditor editor(history_path, !cfg.nohistory);
  Session session(opts, editor);
  return session.loop();
}

}  // namespace cli
