// POST /v1/responses (§5.4): the typed output as a response object with reasoning, message and
// function_call items, or streamed as the response.* events the OpenAI SDKs accumulate
// (each with its sequence_number).
#include <memory>

#include "server/api_sink.h"
#include "server/openai.h"
#include "server/responses.h"
#include "util/error.h"
#include "util/random_id.h"

namespace server::openai {
namespace {

// What the request's events share: the response's fixed fields and the event counter (the
// error frame of a failed stream needs both after the sink is gone).
struct ResponseState {
  std::string id, model;
  int64_t created_at = 0;
  ResponsesRequest echo;  // the fields the response object repeats
  int seq = 0;

  // The response object with `status`, `output` and `usage` (null while unknown).
  ojson response(const char* status, const ojson& output, const ojson& usage) const {
    ojson j = ojson::object();
    j["id"] = id;
    j["object"] = "response";
    j["created_at"] = created_at;
    j["status"] = status;
    j["background"] = false;
    j["error"] = nullptr;
    j["incomplete_details"] = nullptr;
    j["instructions"] = echo.instructions;
    j["max_output_tokens"] = echo.max_output_tokens;
    j["model"] = model;
    j["output"] = output;
    j["parallel_tool_calls"] = echo.parallel_tool_calls;
    j["previous_response_id"] = nullptr;
    j["reasoning"] = {{"effort", echo.reasoning_effort}, {"summary", nullptr}};
    j["store"] = false;  // nothing is kept: previous_response_id cannot refer to it
    j["temperature"] = echo.temperature;
    j["text"] = {{"format", echo.text_format}};
    j["tool_choice"] = echo.tool_choice;
    j["tools"] = echo.tools;
    j["top_p"] = echo.top_p;
    j["truncation"] = "disabled";
    j["usage"] = usage;
    j["user"] = nullptr;
    j["metadata"] = echo.metadata;
    return j;
  }

  // `event: <type>` with {"type", "sequence_number", ...fields}.
  std::string event(const std::string& type, const ojson& fields) {
    ojson j = ojson::object();
    j["type"] = type;
    j["sequence_number"] = seq++;
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    return sse_event(type, j);
  }
};

// Output items in the order the model produced them: reasoning (its text as one summary
// part), a message with one output_text part, function calls. A streamed reasoning or
// message item stays open until output of another kind (or the end) comes.
class ResponsesSink : public ApiSink {
 public:
  ResponsesSink(StreamWriter* w, std::shared_ptr<ResponseState> st)
      : ApiSink(w), st_(std::move(st)) {}

  void begin(const Rendered& r) override {
    count_ = r.count_tokens;
    if (!streaming()) return;
    const ojson snapshot = st_->response("in_progress", ojson::array(), nullptr);
    emit(st_->event("response.created", {{"response", snapshot}}));
    emit(st_->event("response.in_progress", {{"response", snapshot}}));
  }

  bool output(const GenOutput& out) override {
    bool ok = true;
    if (!out.thinking.empty()) ok = append(Kind::kReasoning, out.thinking) && ok;
    if (!out.content.empty()) ok = append(Kind::kMessage, out.content) && ok;
    for (const auto& c : out.tool_calls) ok = function_call(c) && ok;
    return ok;
  }

  void finish(const GenOutput& rest, const runner::CompletionResult& r, const GenJob&) override {
    output(rest);
    close();
    ojson details = ojson::object();
    details["input_tokens"] = r.prompt_eval_count;
    details["input_tokens_details"] = {{"cached_tokens", 0}};
    details["output_tokens"] = r.eval_count;
    details["output_tokens_details"] = {
        {"reasoning_tokens", reasoning_.empty() || !count_ ? 0 : count_(reasoning_)}};
    details["total_tokens"] = r.prompt_eval_count + r.eval_count;
    const bool incomplete = r.done_reason == "length";
    final_ = st_->response(incomplete ? "incomplete" : "completed", items_, details);
    if (incomplete) final_["incomplete_details"] = {{"reason", "max_output_tokens"}};
    final_["output_text"] = text_;
    if (streaming())
      emit(st_->event(incomplete ? "response.incomplete" : "response.completed",
                      {{"response", final_}}));
  }

  ojson body() override { return final_; }

 private:
  enum class Kind { kNone, kReasoning, kMessage };

  int index() const { return static_cast<int>(items_.size()) - 1; }

  // Reasoning or message text: continues the open item of that kind or opens one.
  bool append(Kind kind, const std::string& text) {
    bool ok = true;
    if (open_ != kind) {
      close();
      open_ = kind;
      open_text_.clear();
      ojson item = ojson::object();
      if (kind == Kind::kReasoning) {
        item["id"] = util::random_id("rs_", 24);
        item["type"] = "reasoning";
        item["summary"] = ojson::array();
      } else {
        item["id"] = util::random_id("msg_", 24);
        item["type"] = "message";
        item["status"] = "in_progress";
        item["role"] = "assistant";
        item["content"] = ojson::array();
      }
      items_.push_back(item);
      if (streaming()) {
        ok = emit(
            st_->event("response.output_item.added", {{"output_index", index()}, {"item", item}}));
        if (kind == Kind::kReasoning)
          ok = emit(st_->event("response.reasoning_summary_part.added",
                               {{"item_id", item["id"]},
                                {"output_index", index()},
                                {"summary_index", 0},
                                {"part", summary_part("")}})) &&
               ok;
        else
          ok = emit(st_->event("response.content_part.added", {{"item_id", item["id"]},
                                                               {"output_index", index()},
                                                               {"content_index", 0},
                                                               {"part", text_part("")}})) &&
               ok;
      }
    }
    open_text_ += text;
    if (kind == Kind::kReasoning)
      reasoning_ += text;
    else
      text_ += text;
    if (!streaming()) return ok;
    const ojson& id = items_.back()["id"];
    if (kind == Kind::kReasoning)
      return emit(st_->event("response.reasoning_summary_text.delta", {{"item_id", id},
                                                                       {"output_index", index()},
                                                                       {"summary_index", 0},
                                                                       {"delta", text}})) &&
             ok;
    return emit(st_->event("response.output_text.delta", {{"item_id", id},
                                                          {"output_index", index()},
                                                          {"content_index", 0},
                                                          {"delta", text},
                                                          {"logprobs", ojson::array()}})) &&
           ok;
  }

  // Ends the open reasoning or message item with its full text.
  void close() {
    if (open_ == Kind::kNone) return;
    ojson& item = items_.back();
    const ojson id = item["id"];
    if (open_ == Kind::kReasoning) {
      item["summary"] = ojson::array({summary_part(open_text_)});
      if (streaming()) {
        emit(st_->event("response.reasoning_summary_text.done", {{"item_id", id},
                                                                 {"output_index", index()},
                                                                 {"summary_index", 0},
                                                                 {"text", open_text_}}));
        emit(st_->event("response.reasoning_summary_part.done",
                        {{"item_id", id},
                         {"output_index", index()},
                         {"summary_index", 0},
                         {"part", summary_part(open_text_)}}));
      }
    } else {
      item["status"] = "completed";
      item["content"] = ojson::array({text_part(open_text_)});
      if (streaming()) {
        emit(st_->event("response.output_text.done", {{"item_id", id},
                                                      {"output_index", index()},
                                                      {"content_index", 0},
                                                      {"text", open_text_},
                                                      {"logprobs", ojson::array()}}));
        emit(st_->event("response.content_part.done", {{"item_id", id},
                                                       {"output_index", index()},
                                                       {"content_index", 0},
                                                       {"part", text_part(open_text_)}}));
      }
    }
    if (streaming())
      emit(st_->event("response.output_item.done", {{"output_index", index()}, {"item", item}}));
    open_ = Kind::kNone;
  }

  // One complete function_call item (its arguments in one delta).
  bool function_call(const prompt::ToolCall& c) {
    close();
    const std::string args = c.arguments.is_null() ? "{}" : c.arguments.dump();
    ojson item = ojson::object();
    item["id"] = util::random_id("fc_", 24);
    item["type"] = "function_call";
    item["status"] = "in_progress";
    item["arguments"] = "";
    item["call_id"] = c.id.empty() ? prompt::new_tool_call_id() : c.id;
    item["name"] = c.name;
    items_.push_back(item);
    ojson& done = items_.back();
    done["status"] = "completed";
    done["arguments"] = args;
    if (!streaming()) return true;
    const ojson id = item["id"];
    bool ok =
        emit(st_->event("response.output_item.added", {{"output_index", index()}, {"item", item}}));
    ok = emit(st_->event("response.function_call_arguments.delta",
                         {{"item_id", id}, {"output_index", index()}, {"delta", args}})) &&
         ok;
    ok =
        emit(st_->event(
            "response.function_call_arguments.done",
            {{"item_id", id}, {"output_index", index()}, {"name", c.name}, {"arguments", args}})) &&
        ok;
    ok = emit(st_->event("response.output_item.done",
                         {{"output_index", index()}, {"item", done}})) &&
         ok;
    return ok;
  }

  static ojson summary_part(const std::string& text) {
    return {{"type", "summary_text"}, {"text", text}};
  }
  static ojson text_part(const std::string& text) {
    return {{"type", "output_text"},
            {"annotations", ojson::array()},
            {"logprobs", ojson::array()},
            {"text", text}};
  }

  std::shared_ptr<ResponseState> st_;
  std::function<int(const std::string&)> count_;
  ojson items_ = ojson::array();
  Kind open_ = Kind::kNone;
  std::string open_text_;  // the open item's text so far
  std::string text_;       // all message text (output_text)
  std::string reasoning_;  // all reasoning text (reasoning_tokens)
  ojson final_ = ojson::object();
};

void responses(Context& ctx, Call& c) {
  ResponsesRequest req = parse_responses_request(c.body.text());
  auto st = std::make_shared<ResponseState>();
  st->id = util::random_id("resp_", 24);
  st->model = req.chat.model;
  st->created_at = unix_now();
  const bool stream = req.stream;
  std::string format = std::move(req.format);
  GenRun run = prepare_chat(ctx, std::move(req.chat), std::move(format));
  st->echo = std::move(req);
  Framing f = sse_framing();
  // A stream cut by an error: an `error` event, then response.failed.
  f.late_error = [st](int, const std::string& message) {
    ojson failed = st->response("failed", ojson::array(), nullptr);
    failed["error"] = {{"code", "server_error"}, {"message", message}};
    return st->event("error",
                     {{"code", "server_error"}, {"message", message}, {"param", nullptr}}) +
           st->event("response.failed", {{"response", failed}});
  };
  respond_api(c.res, stream, f, run,
              [st](StreamWriter* w) { return std::make_unique<ResponsesSink>(w, st); });
}

}  // namespace

void add_responses_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/responses", [&ctx](Call& c) { guarded(c.res, [&] { responses(ctx, c); }); });
}

}  // namespace server::openai
