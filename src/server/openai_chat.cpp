// POST /v1/chat/completions (§5.1) and /v1/completions (§5.2) over the native /api/chat and
// /api/generate routes: request translation in, chat.completion(.chunk) / text_completion out.
#include "api/decode.h"
#include "api/limits.h"
#include "server/openai.h"
#include "util/error.h"
#include "util/json.h"

namespace server::openai {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// data:image/png;base64,XXXX (or a bare base64 string) -> XXXX.
std::string image_data(const json& part) {
  const json& iu = part.contains("image_url") ? part["image_url"] : json();
  std::string url = iu.is_string() ? iu.get<std::string>() : str(iu, "url");
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
    throw util::bad_request(
        "image URLs are not currently supported, please use base64 encoded data instead");
  if (url.rfind("data:", 0) == 0) {
    size_t comma = url.find(',');
    if (comma == std::string::npos || url.find(";base64", 0) > comma)
      throw util::bad_request("invalid image input");
    return url.substr(comma + 1);
  }
  return url;
}

json native_messages(const json& msgs) {
  json out = json::array();
  std::map<std::string, std::string> tool_names;  // tool call id -> function name
  for (const auto& m : msgs) {
    if (!m.is_object()) throw util::bad_request("invalid message format");
    const std::string role = str(m, "role");
    json base = json::object();
    base["role"] = role;
    if (m.contains("reasoning") && m["reasoning"].is_string()) base["thinking"] = m["reasoning"];
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      json calls = json::array();
      for (const auto& c : *tc) {
        const json& fn = c.contains("function") ? c["function"] : json::object();
        json args = json::object();
        if (fn.contains("arguments") && fn["arguments"].is_string()) {
          args = util::parse_json_or_discarded(fn["arguments"].get<std::string>());
          if (!args.is_object()) throw util::bad_request("invalid tool call arguments");
        }
        json call = {{"function", {{"name", str(fn, "name")}, {"arguments", args}}}};
        if (c.contains("id")) {
          call["id"] = c["id"];
          tool_names[str(c, "id")] = str(fn, "name");
        }
        calls.push_back(call);
      }
      base["tool_calls"] = calls;
    }
    if (role == "tool") {
      base["tool_call_id"] = str(m, "tool_call_id");
      std::string name = str(m, "name");
      if (name.empty()) name = tool_names[str(m, "tool_call_id")];
      if (!name.empty()) base["tool_name"] = name;
    }
    const json content = m.contains("content") ? m["content"] : json();
    if (content.is_string()) {
      base["content"] = content;
      out.push_back(base);
    } else if (content.is_array()) {
      for (const auto& part : content) {
        const std::string type = str(part, "type");
        json msg = base;
        if (type == "text") {
          msg["content"] = str(part, "text");
        } else if (type == "image_url") {
          msg["content"] = "";
          msg["images"] = json::array({image_data(part)});
        } else {
          throw util::bad_request("invalid message content type: " + type);
        }
        out.push_back(msg);
      }
    } else if (content.is_null()) {
      if (!base.contains("tool_calls")) throw util::bad_request("invalid message content type");
      base["content"] = "";
      out.push_back(base);
    } else {
      throw util::bad_request("invalid message content type");
    }
  }
  return out;
}

ojson usage_json(const json& native) {
  const int64_t p = native.value("prompt_eval_count", 0), e = native.value("eval_count", 0);
  ojson u = ojson::object();
  u["prompt_tokens"] = p;
  u["completion_tokens"] = e;
  u["total_tokens"] = p + e;
  return u;
}

ojson tool_calls_openai(const json& calls) {
  ojson out = ojson::array();
  int i = 0;
  for (const auto& c : calls) {
    const json& fn = c.contains("function") ? c["function"] : json::object();
    ojson tc = ojson::object();
    tc["id"] =
        c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : new_id("call_");
    tc["index"] = fn.value("index", i);
    tc["type"] = "function";
    ojson f = ojson::object();
    f["name"] = fn.value("name", "");
    f["arguments"] = fn.contains("arguments") ? fn["arguments"].dump() : "{}";
    tc["function"] = f;
    out.push_back(tc);
    i++;
  }
  return out;
}

std::string finish_reason(const json& native, bool had_tool_calls) {
  std::string r = native.value("done_reason", "stop");
  if (r != "length") r = "stop";
  if (had_tool_calls && r == "stop") r = "tool_calls";
  return r;
}

ojson envelope(const std::string& id, const char* object, int64_t created,
               const std::string& model) {
  ojson j = ojson::object();
  j["id"] = id;
  j["object"] = object;
  j["created"] = created;
  j["model"] = model;
  j["system_fingerprint"] = "fp_ollama";
  return j;
}

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

// The fields this layer reads must have the types OpenAI's schema gives them: a wrong type is
// the client's error (400), as Go's decoder reports it in Ollama.
void check_types(const json& r, const char* go_type) {
  expect_kind(r, "model", Kind::kString, go_type);
  expect_kind(r, "stream", Kind::kBool, go_type);
  // Chat takes a boolean; the legacy completions API the number of alternatives (0-5).
  const bool legacy = std::string(go_type) == "completion request";
  expect_kind(r, "logprobs", legacy ? Kind::kInteger : Kind::kBool, go_type);
  expect_kind(r, "echo", Kind::kBool, go_type);
  expect_kind(r, "top_logprobs", Kind::kInteger, go_type);
  expect_kind(r, "stream_options", Kind::kObject, go_type);
  if (auto it = r.find("stream_options"); it != r.end() && it->is_object())
    expect_kind(*it, "include_usage", Kind::kBool, "StreamOptions");
  expect_kind(r, "reasoning_effort", Kind::kString, go_type);
  expect_kind(r, "tools", Kind::kArray, go_type);
  if (auto it = r.find("tools"); it != r.end() && it->is_array())
    for (const auto& t : *it)
      if (!t.is_object()) type_error("tools", t, "api.Tool", go_type);
  expect_kind(r, "messages", Kind::kArray, go_type);
  if (auto it = r.find("messages"); it != r.end() && it->is_array()) {
    api::check_count("messages", it->size(), api::kMaxMessages);
    for (const auto& m : *it) {
      if (!m.is_object()) continue;  // "invalid message format" below
      expect_kind(m, "role", Kind::kString, "Message");
      expect_kind(m, "name", Kind::kString, "Message");
      expect_kind(m, "tool_call_id", Kind::kString, "Message");
      expect_kind(m, "reasoning", Kind::kString, "Message");
      expect_kind(m, "tool_calls", Kind::kArray, "Message");
    }
  }
}

json parse_request(Call& c, const char* go_type) {
  json r = api::parse_body(c.body.text());
  if (!r.is_object())
    throw util::bad_request(std::string("invalid request: expected a ") + go_type);
  check_types(r, go_type);
  if (str(r, "model").empty()) throw util::bad_request("model is required");
  return r;
}

bool flag(const json& r, const char* key) {
  auto it = r.find(key);
  return it != r.end() && it->is_boolean() && it->get<bool>();
}

bool include_usage(const json& r) {
  auto it = r.find("stream_options");
  return it != r.end() && it->is_object() && flag(*it, "include_usage");
}

void chat_completions(Context& ctx, Call& c) {
  const json r = parse_request(c, "chat completion request");
  const std::string model = str(r, "model");
  if (!r.contains("messages") || !r["messages"].is_array() || r["messages"].empty())
    throw util::bad_request("[] is too short - 'messages'");
  const std::string format = response_format(r, c.body.text());
  json native = json::object();
  native["model"] = model;
  native["messages"] = native_messages(r["messages"]);
  const bool stream = flag(r, "stream");
  native["stream"] = stream;
  native["options"] = sampling_options(r);
  if (r.contains("tools") && r["tools"].is_array()) native["tools"] = r["tools"];
  // Enforced (Ollama ignores it): "none" forbids calls, "required" / a named function forces one.
  if (r.contains("tool_choice") && !r["tool_choice"].is_null())
    native["tool_choice"] = r["tool_choice"];
  std::string effort = str(r, "reasoning_effort");
  if (effort.empty() && r.contains("reasoning") && r["reasoning"].is_object())
    effort = str(r["reasoning"], "effort");
  if (!effort.empty()) native["think"] = think_from_effort(effort);
  if (flag(r, "logprobs")) {
    native["logprobs"] = true;
    if (r.contains("top_logprobs")) native["top_logprobs"] = r["top_logprobs"];
  }

  const std::string id = new_id("chatcmpl-");
  const int64_t created = unix_now();
  auto sse = std::make_shared<SseTranslator>();
  auto state = std::make_shared<std::pair<bool, json>>(false, json());  // tool calls seen, final
  const bool usage = include_usage(r);
  const bool want_lp = flag(r, "logprobs");
  auto chunk = [id, created, model](ojson delta, const ojson& reason,
                                    const ojson& logprobs = nullptr) {
    ojson j = envelope(id, "chat.completion.chunk", created, model);
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["delta"] = std::move(delta);
    choice["logprobs"] = logprobs;
    choice["finish_reason"] = reason;
    j["choices"] = ojson::array({choice});
    return j;
  };
  // Native logprobs entries already have OpenAI's fields (token, logprob, bytes,
  // top_logprobs): they become choice.logprobs.content.
  auto lp_of = [want_lp](const json& n) -> ojson {
    if (!want_lp || !n.contains("logprobs") || !n["logprobs"].is_array()) return nullptr;
    ojson o = ojson::object();
    o["content"] = ojson::parse(n["logprobs"].dump());
    return o;
  };
  sse->on_object = [chunk, state, id, created, model, lp_of](const json& n) {
    std::vector<std::string> out;
    if (n.contains("error")) {
      ojson e = ojson::object();
      e["error"] = {
          {"message", n["error"]}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}};
      out.push_back(dump(e));
      return out;
    }
    const json msg = n.contains("message") ? n["message"] : json::object();
    const std::string content = str(msg, "content"), thinking = str(msg, "thinking");
    const bool tools = msg.contains("tool_calls") && !msg["tool_calls"].empty();
    if (!thinking.empty()) {
      ojson d = ojson::object();
      d["role"] = "assistant";
      d["content"] = "";
      d["reasoning"] = thinking;
      out.push_back(dump(chunk(d, nullptr)));
    }
    if (!content.empty() || tools || (!n.value("done", false) && thinking.empty())) {
      ojson d = ojson::object();
      d["role"] = "assistant";
      d["content"] = content;
      if (tools) {
        d["tool_calls"] = tool_calls_openai(msg["tool_calls"]);
        state->first = true;
      }
      out.push_back(dump(chunk(d, nullptr, lp_of(n))));
    }
    if (n.value("done", false)) {
      state->second = n;
      out.push_back(dump(chunk(ojson::object(), finish_reason(n, state->first))));
    }
    return out;
  };
  sse->on_end = [state, usage, id, created, model]() {
    std::vector<std::string> out;
    if (usage && !state->second.is_null()) {
      ojson j = envelope(id, "chat.completion.chunk", created, model);
      j["choices"] = ojson::array();
      j["usage"] = usage_json(state->second);
      out.push_back(dump(j));
    }
    return out;
  };
  auto done = [id, created, model, lp_of](const json& n) {
    ojson j = envelope(id, "chat.completion", created, model);
    const json msg = n.contains("message") ? n["message"] : json::object();
    ojson m = ojson::object();
    m["role"] = "assistant";
    m["content"] = str(msg, "content");
    if (!str(msg, "thinking").empty()) m["reasoning"] = str(msg, "thinking");
    const bool tools = msg.contains("tool_calls") && !msg["tool_calls"].empty();
    if (tools) m["tool_calls"] = tool_calls_openai(msg["tool_calls"]);
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["message"] = m;
    choice["logprobs"] = lp_of(n);
    choice["finish_reason"] = finish_reason(n, tools);
    j["choices"] = ojson::array({choice});
    j["usage"] = usage_json(n);
    return j;
  };
  run_native(ctx, c, "/api/chat", native, stream, sse, done, format);
}

void completions(Context& ctx, Call& c) {
  const json r = parse_request(c, "completion request");
  const std::string model = str(r, "model");
  if (flag(r, "echo"))
    throw util::bad_request("echo is not supported: the prompt is not repeated in the output");
  if (r.contains("prompt") && !r["prompt"].is_string() && !r["prompt"].is_null())
    throw util::bad_request("invalid type for 'prompt' field: only a string is supported");
  const std::string format = response_format(r, c.body.text());
  json native = json::object();
  native["model"] = model;
  native["prompt"] = str(r, "prompt");
  if (!str(r, "suffix").empty()) native["suffix"] = str(r, "suffix");
  const bool stream = flag(r, "stream");
  native["stream"] = stream;
  native["options"] = sampling_options(r);

  int n_lp = -1;  // legacy logprobs: the number of alternatives per token, -1 when off
  if (auto it = r.find("logprobs"); it != r.end() && it->is_number_integer()) {
    n_lp = std::clamp(it->get<int>(), 0, 5);
    native["logprobs"] = true;
    native["top_logprobs"] = n_lp;
  }
  const std::string id = new_id("cmpl-");
  const int64_t created = unix_now();
  const bool usage = include_usage(r);
  auto final_native = std::make_shared<json>();
  // Native entries -> {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}.
  auto offset = std::make_shared<size_t>(0);
  auto legacy_lp = [n_lp, offset](const json& n) -> ojson {
    if (n_lp < 0 || !n.contains("logprobs") || !n["logprobs"].is_array()) return nullptr;
    ojson o = {{"tokens", ojson::array()},
               {"token_logprobs", ojson::array()},
               {"top_logprobs", ojson::array()},
               {"text_offset", ojson::array()}};
    for (const auto& e : n["logprobs"]) {
      const std::string tok = str(e, "token");
      o["tokens"].push_back(tok);
      o["token_logprobs"].push_back(e.value("logprob", 0.0));
      ojson top = ojson::object();
      if (e.contains("top_logprobs") && e["top_logprobs"].is_array())
        for (const auto& a : e["top_logprobs"]) top[str(a, "token")] = a.value("logprob", 0.0);
      o["top_logprobs"].push_back(top);
      o["text_offset"].push_back(*offset);
      *offset += tok.size();
    }
    return o;
  };
  auto sse = std::make_shared<SseTranslator>();
  auto chunk = [id, created, model](const std::string& text, const ojson& reason,
                                    const ojson& logprobs = nullptr) {
    ojson j = envelope(id, "text_completion", created, model);
    ojson choice = ojson::object();
    choice["text"] = text;
    choice["index"] = 0;
    choice["logprobs"] = logprobs;
    choice["finish_reason"] = reason;
    j["choices"] = ojson::array({choice});
    return j;
  };
  sse->on_object = [chunk, final_native, legacy_lp](const json& n) {
    std::vector<std::string> out;
    if (n.contains("error")) {
      ojson e = ojson::object();
      e["error"] = {
          {"message", n["error"]}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}};
      out.push_back(dump(e));
      return out;
    }
    const bool is_done = n.value("done", false);
    if (is_done) *final_native = n;
    const std::string text = str(n, "response");
    if (!text.empty() || !is_done) out.push_back(dump(chunk(text, nullptr, legacy_lp(n))));
    if (is_done) out.push_back(dump(chunk("", finish_reason(n, false))));
    return out;
  };
  sse->on_end = [final_native, usage, id, created, model]() {
    std::vector<std::string> out;
    if (usage && !final_native->is_null()) {
      ojson j = envelope(id, "text_completion", created, model);
      j["choices"] = ojson::array();
      j["usage"] = usage_json(*final_native);
      out.push_back(dump(j));
    }
    return out;
  };
  auto done = [id, created, model, legacy_lp](const json& n) {
    ojson j = envelope(id, "text_completion", created, model);
    ojson choice = ojson::object();
    choice["text"] = str(n, "response");
    choice["index"] = 0;
    choice["finish_reason"] = finish_reason(n, false);
    choice["logprobs"] = legacy_lp(n);
    j["choices"] = ojson::array({choice});
    j["usage"] = usage_json(n);
    return j;
  };
  run_native(ctx, c, "/api/generate", native, stream, sse, done, format);
}

}  // namespace

void add_chat_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/chat/completions",
        [&ctx](Call& c) { guarded(c.res, [&] { chat_completions(ctx, c); }); });
  r.add("POST", "/v1/completions",
        [&ctx](Call& c) { guarded(c.res, [&] { completions(ctx, c); }); });
}

}  // namespace server::openai
