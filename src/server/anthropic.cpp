// POST /v1/messages (§5.6): the typed output as an Anthropic message, or streamed as its
// events (message_start, content_block_start/delta/stop, message_delta, message_stop);
// POST /v1/messages/count_tokens: the rendered prompt's tokens.
#include "server/anthropic.h"

#include <algorithm>

#include "server/api_sink.h"
#include "util/error.h"

namespace server::anthropic {
namespace {

using ojson = nlohmann::ordered_json;

// Output as Anthropic content blocks: thinking, text and tool_use blocks in the order the
// model produced them; a streamed block is opened at its first delta and closed when output
// of another kind (or the end) comes.
class MessagesSink : public ApiSink {
 public:
  struct Params {
    std::string id, model;
    std::vector<std::string> stop_sequences;
  };
  MessagesSink(StreamWriter* w, Params p) : ApiSink(w), p_(std::move(p)) {}

  void begin(const Rendered& r) override {
    input_tokens_ = r.count_tokens(r.prompt);
    if (!streaming()) return;
    ojson msg = message_head();
    msg["content"] = ojson::array();
    msg["stop_reason"] = nullptr;
    msg["stop_sequence"] = nullptr;
    msg["usage"] = usage(input_tokens_, 0);
    emit(sse_event("message_start", {{"type", "message_start"}, {"message", msg}}));
    emit(sse_event("ping", {{"type", "ping"}}));  // as Anthropic's own stream does
  }

  bool output(const GenOutput& out) override {
    bool ok = true;
    if (!out.thinking.empty()) ok = append("thinking", out.thinking) && ok;
    if (!out.content.empty()) ok = append("text", out.content) && ok;
    for (const auto& c : out.tool_calls) ok = tool_use(c) && ok;
    return ok;
  }

  void finish(const GenOutput& rest, const runner::CompletionResult& r, const GenJob&) override {
    output(rest);
    close_block();
    result_ = r;
    if (!streaming()) return;
    ojson delta = ojson::object();
    delta["stop_reason"] = stop_reason();
    delta["stop_sequence"] = stop_sequence();
    ojson j = ojson::object();
    j["type"] = "message_delta";
    j["delta"] = delta;
    j["usage"] = usage(r.prompt_eval_count, r.eval_count);
    emit(sse_event("message_delta", j));
    emit(sse_event("message_stop", {{"type", "message_stop"}}));
  }

  ojson body() override {
    ojson msg = message_head();
    ojson content = blocks_;
    if (content.empty()) content.push_back({{"type", "text"}, {"text", ""}});
    msg["content"] = content;
    msg["stop_reason"] = stop_reason();
    msg["stop_sequence"] = stop_sequence();
    msg["usage"] = usage(result_.prompt_eval_count, result_.eval_count);
    return msg;
  }

 private:
  ojson message_head() const {
    ojson m = ojson::object();
    m["id"] = p_.id;
    m["type"] = "message";
    m["role"] = "assistant";
    m["model"] = p_.model;
    return m;
  }

  static ojson usage(int input, int output) {
    ojson u = ojson::object();
    u["input_tokens"] = input;
    u["output_tokens"] = output;
    return u;
  }

  // The client's own stop sequence that ended the output, if one did.
  ojson stop_sequence() const {
    const std::string& s = result_.stop_sequence;
    if (s.empty() ||
        std::find(p_.stop_sequences.begin(), p_.stop_sequences.end(), s) == p_.stop_sequences.end())
      return nullptr;
    return s;
  }

  std::string stop_reason() const {
    if (had_tool_use_) return "tool_use";
    if (result_.done_reason == "length") return "max_tokens";
    if (!stop_sequence().is_null()) return "stop_sequence";
    return "end_turn";
  }

  // Text or thinking: continues the open block of that type or opens one.
  bool append(const char* type, const std::string& text) {
    const bool thinking = std::string(type) == "thinking";
    if (open_type_ != type) {
      close_block();
      ojson block = ojson::object();
      block["type"] = type;
      block[thinking ? "thinking" : "text"] = "";
      if (thinking) block["signature"] = "";
      blocks_.push_back(block);
      open_type_ = type;
      if (streaming() && !emit(sse_event("content_block_start", start_event(block)))) return false;
    }
    ojson& b = blocks_.back();
    const char* key = thinking ? "thinking" : "text";
    b[key] = b[key].get<std::string>() + text;
    if (!streaming()) return true;
    ojson delta = ojson::object();
    delta["type"] = thinking ? "thinking_delta" : "text_delta";
    delta[key] = text;
    return emit(sse_event("content_block_delta", delta_event(delta)));
  }

  // One complete tool_use block (its input in one input_json_delta).
  bool tool_use(const prompt::ToolCall& c) {
    close_block();
    had_tool_use_ = true;
    ojson block = ojson::object();
    block["type"] = "tool_use";
    block["id"] = c.id.empty() ? new_id("toolu_") : c.id;
    block["name"] = c.name;
    block["input"] = ojson::object();
    blocks_.push_back(block);
    blocks_.back()["input"] = c.arguments.is_object() ? c.arguments : ojson::object();
    if (!streaming()) return true;
    bool ok = emit(sse_event("content_block_start", start_event(block)));
    ojson delta = ojson::object();
    delta["type"] = "input_json_delta";
    delta["partial_json"] = blocks_.back()["input"].dump();
    ok = ok && emit(sse_event("content_block_delta", delta_event(delta)));
    ok = ok && emit(sse_event("content_block_stop", stop_event()));
    return ok;
  }

  void close_block() {
    if (open_type_.empty()) return;
    open_type_.clear();
    if (streaming()) emit(sse_event("content_block_stop", stop_event()));
  }

  int index() const { return static_cast<int>(blocks_.size()) - 1; }
  ojson start_event(const ojson& block) const {
    return {{"type", "content_block_start"}, {"index", index()}, {"content_block", block}};
  }
  ojson delta_event(const ojson& delta) const {
    return {{"type", "content_block_delta"}, {"index", index()}, {"delta", delta}};
  }
  ojson stop_event() const { return {{"type", "content_block_stop"}, {"index", index()}}; }

  Params p_;
  ojson blocks_ = ojson::array();
  std::string open_type_;  // "text" or "thinking" while such a block is open
  bool had_tool_use_ = false;
  int input_tokens_ = 0;
  runner::CompletionResult result_;
};

// Counts the rendered prompt and generates nothing.
class CountSink : public ApiSink {
 public:
  CountSink() : ApiSink(nullptr) {}
  void begin(const Rendered& r) override { tokens_ = r.count_tokens(r.prompt); }
  bool output(const GenOutput&) override { return false; }
  void finish(const GenOutput&, const runner::CompletionResult&, const GenJob&) override {}
  ojson body() override { return {{"input_tokens", tokens_}}; }

 private:
  int tokens_ = 0;
};

Framing sse_framing() {
  Framing f;
  f.content_type = "text/event-stream";
  f.late_error = [](int status, const std::string& message) {
    return sse_event("error", error_body(status, message));
  };
  f.early_error = [](httplib::Response& res, int status, const std::string& message) {
    write_error(res, status, message);
  };
  return f;
}

void guarded(httplib::Response& res, const std::function<void()>& fn) {
  run_guarded(res, fn, write_error);
}

void messages(Context& ctx, Call& c) {
  MessagesRequest req = parse_messages_request(c.body.text(), /*count_only=*/false);
  MessagesSink::Params p;
  p.id = new_id("msg_");
  p.model = req.chat.model;
  p.stop_sequences = req.stop_sequences;
  GenRun run = prepare_chat(ctx, std::move(req.chat), "");
  respond_api(c.res, req.stream, sse_framing(), run,
              [p](StreamWriter* w) { return std::make_unique<MessagesSink>(w, p); });
}

void count_tokens(Context& ctx, Call& c) {
  MessagesRequest req = parse_messages_request(c.body.text(), /*count_only=*/true);
  req.chat.debug_render_only = true;  // render, count, generate nothing
  req.chat.truncate = false;          // every token of it
  GenRun run = prepare_chat(ctx, std::move(req.chat), "");
  respond_api(c.res, false, sse_framing(), run,
              [](StreamWriter*) { return std::make_unique<CountSink>(); });
}

}  // namespace
}  // namespace server::anthropic

namespace server {

void add_anthropic_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/messages",
        [&ctx](Call& c) { anthropic::guarded(c.res, [&] { anthropic::messages(ctx, c); }); });
  r.add("POST", "/v1/messages/count_tokens",
        [&ctx](Call& c) { anthropic::guarded(c.res, [&] { anthropic::count_tokens(ctx, c); }); });
}

}  // namespace server
