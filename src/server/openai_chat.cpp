// POST /v1/chat/completions (§5.1): the request translated into the typed chat request, the
// typed output into chat.completion / chat.completion.chunk.
#include <cctype>
#include <map>

#include "api/decode.h"
#include "api/limits.h"
#include "server/api_sink.h"
#include "server/openai.h"
#include "util/error.h"
#include "util/json.h"

namespace server::openai {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// One tool call of an assistant message: arguments are JSON text of an object.
ojson native_tool_call(const ojson& c) {
  const ojson fn =
      c.contains("function") && c["function"].is_object() ? c["function"] : ojson::object();
  ojson args = ojson::object();
  if (fn.contains("arguments") && fn["arguments"].is_string()) {
    args = util::parse_json_or_discarded<ojson>(fn["arguments"].get<std::string>());
    if (!args.is_object()) throw util::bad_request("invalid tool call arguments");
  }
  ojson f = ojson::object();
  f["index"] = 0;
  f["name"] = fn.contains("name") && fn["name"].is_string() ? fn["name"].get<std::string>() : "";
  f["arguments"] = args;
  ojson call = ojson::object();
  if (c.contains("id") && c["id"].is_string()) call["id"] = c["id"];
  call["function"] = f;
  return call;
}

// OpenAI messages -> native ones: an array content becomes one message per part (§5.1).
std::vector<api::ChatMessage> chat_messages(const ojson& msgs) {
  std::vector<api::ChatMessage> out;
  std::map<std::string, std::string> tool_names;  // tool call id -> function name
  for (const auto& m : msgs) {
    if (!m.is_object()) throw util::bad_request("invalid message format");
    api::ChatMessage base;
    base.role = lower(str(m, "role"));
    base.thinking = str(m, "reasoning");
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      for (const auto& c : *tc) {
        ojson call = native_tool_call(c);
        if (call.contains("id"))
          tool_names[call["id"].get<std::string>()] = call["function"]["name"];
        base.tool_calls.push_back(std::move(call));
      }
    }
    if (base.role == "tool") {
      base.tool_call_id = str(m, "tool_call_id");
      base.tool_name = str(m, "name");
      if (base.tool_name.empty()) base.tool_name = tool_names[base.tool_call_id];
    }
    const ojson content = m.contains("content") ? m["content"] : ojson();
    if (content.is_string()) {
      base.content = content.get<std::string>();
      out.push_back(std::move(base));
    } else if (content.is_array()) {
      for (const auto& part : content) {
        const std::string type = str(part, "type");
        api::ChatMessage msg = base;
        if (type == "text") {
          msg.content = str(part, "text");
        } else if (type == "image_url") {
          const ojson& iu = part.contains("image_url") ? part["image_url"] : ojson();
          msg.images = {image_from_url(iu.is_string() ? iu.get<std::string>() : str(iu, "url"))};
        } else {
          throw util::bad_request("invalid message content type: " + type);
        }
        out.push_back(std::move(msg));
      }
    } else if (content.is_null()) {
      if (base.tool_calls.empty()) throw util::bad_request("invalid message content type");
      out.push_back(std::move(base));
    } else {
      throw util::bad_request("invalid message content type");
    }
  }
  return out;
}

bool include_usage(const json& r) {
  auto it = r.find("stream_options");
  return it != r.end() && it->is_object() && flag(*it, "include_usage");
}

std::string finish_reason(const std::string& done_reason, bool had_tool_calls) {
  if (done_reason == "length") return "length";
  return had_tool_calls ? "tool_calls" : "stop";
}

// chat.completion.chunk events while streaming, one chat.completion at the end otherwise.
class ChatSink : public ApiSink {
 public:
  struct Params {
    std::string id, model;
    int64_t created = 0;
    bool usage = false, logprobs = false;
  };
  ChatSink(StreamWriter* w, Params p) : ApiSink(w), p_(std::move(p)) {}

  bool output(const GenOutput& out) override { return take(out, /*last=*/false); }

  void finish(const GenOutput& rest, const runner::CompletionResult& r, const GenJob&) override {
    take(rest, /*last=*/true);
    result_ = r;
    if (!streaming()) return;
    emit(sse_data(chunk(ojson::object(), finish_reason(r.done_reason, !calls_.empty()))));
    emit(stream_end(p_.usage, envelope(p_.id, "chat.completion.chunk", p_.created, p_.model), r));
  }

  ojson body() override {
    ojson j = envelope(p_.id, "chat.completion", p_.created, p_.model);
    ojson m = ojson::object();
    m["role"] = "assistant";
    m["content"] = content_;
    if (!thinking_.empty()) m["reasoning"] = thinking_;
    if (!calls_.empty()) m["tool_calls"] = openai_tool_calls(calls_);
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["message"] = m;
    choice["logprobs"] = logprobs(logprobs_);
    choice["finish_reason"] = finish_reason(result_.done_reason, !calls_.empty());
    j["choices"] = ojson::array({choice});
    j["usage"] = usage_json(result_);
    return j;
  }

 private:
  // A response carrying thinking and content is split into a reasoning chunk and a content
  // chunk; every output before the last gets a content chunk, even an empty one (logprobs).
  bool take(const GenOutput& out, bool last) {
    if (!streaming()) {
      content_ += out.content;
      thinking_ += out.thinking;
      calls_.insert(calls_.end(), out.tool_calls.begin(), out.tool_calls.end());
      for (const auto& e : out.logprobs) logprobs_.push_back(e);
      return true;
    }
    bool ok = true;
    if (!out.thinking.empty()) {
      ojson d = ojson::object();
      d["role"] = "assistant";
      d["content"] = "";
      d["reasoning"] = out.thinking;
      ok = emit(sse_data(chunk(d, nullptr)));
    }
    const bool tools = !out.tool_calls.empty();
    if (!out.content.empty() || tools || (!last && out.thinking.empty())) {
      ojson d = ojson::object();
      d["role"] = "assistant";
      d["content"] = out.content;
      if (tools) {
        d["tool_calls"] = openai_tool_calls(out.tool_calls);
        calls_.insert(calls_.end(), out.tool_calls.begin(), out.tool_calls.end());
      }
      ok = emit(sse_data(chunk(d, nullptr, logprobs(out.logprobs)))) && ok;
    }
    return ok;
  }

  ojson chunk(ojson delta, const ojson& reason, const ojson& lp = nullptr) const {
    ojson j = envelope(p_.id, "chat.completion.chunk", p_.created, p_.model);
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["delta"] = std::move(delta);
    choice["logprobs"] = lp;
    choice["finish_reason"] = reason;
    j["choices"] = ojson::array({choice});
    return j;
  }

  // Native logprobs entries already have OpenAI's fields (token, logprob, bytes,
  // top_logprobs): they become choice.logprobs.content.
  ojson logprobs(const ojson& entries) const {
    if (!p_.logprobs || entries.empty()) return nullptr;
    ojson o = ojson::object();
    o["content"] = entries;
    return o;
  }

  Params p_;
  std::string content_, thinking_;
  std::vector<prompt::ToolCall> calls_;
  ojson logprobs_ = ojson::array();
  runner::CompletionResult result_;
};

void chat_completions(Context& ctx, Call& c) {
  const json r = parse_request(c, "chat completion request");
  if (!r.contains("messages") || !r["messages"].is_array() || r["messages"].empty())
    throw util::bad_request("[] is too short - 'messages'");
  const ojson o = util::parse_json<ojson>(c.body.text());  // tools keep the client's key order
  api::ChatRequest req;
  req.model = str(r, "model");
  std::string format = response_format(r, c.body.text());
  req.messages = chat_messages(o["messages"]);
  const bool stream = flag(r, "stream");
  req.stream = stream;
  req.options = sampling_options(r);
  if (auto t = o.find("tools"); t != o.end() && t->is_array()) {
    api::check_count("tools", t->size(), api::kMaxTools);
    req.tools = *t;
  }
  // Enforced (Ollama ignores it): "none" forbids calls, "required" / a named function forces one.
  if (auto t = o.find("tool_choice"); t != o.end()) req.tool_choice = *t;
  std::string effort = str(r, "reasoning_effort");
  if (effort.empty() && r.contains("reasoning") && r["reasoning"].is_object())
    effort = str(r["reasoning"], "effort");
  if (!effort.empty()) req.think = think_from_effort(effort);
  ChatSink::Params p;
  p.logprobs = flag(r, "logprobs");
  if (p.logprobs) {
    req.logprobs = true;
    if (auto it = r.find("top_logprobs"); it != r.end() && it->is_number_integer())
      req.top_logprobs = it->get<int>();
    if (req.top_logprobs < 0 || req.top_logprobs > 20)
      throw util::bad_request("top_logprobs must be between 0 and 20");
  }
  p.id = new_id("chatcmpl-");
  p.model = req.model;
  p.created = unix_now();
  p.usage = include_usage(r);
  GenRun run = prepare_chat(ctx, std::move(req), std::move(format));
  respond_api(c.res, stream, sse_framing(), run,
              [p](StreamWriter* w) { return std::make_unique<ChatSink>(w, p); });
}

}  // namespace

void add_chat_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/chat/completions",
        [&ctx](Call& c) { guarded(c.res, [&] { chat_completions(ctx, c); }); });
}

}  // namespace server::openai
