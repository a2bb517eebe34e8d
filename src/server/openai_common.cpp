#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>

#include "api/decode.h"
#include "api/limits.h"
#include "engine/sample/json_schema.h"
#include "server/api_sink.h"
#include "server/openai.h"
#include "util/error.h"
#include "util/json.h"

namespace server::openai {

void write_error(httplib::Response& res, int status, const std::string& message) {
  const char* type = status == 400   ? "invalid_request_error"
                     : status == 404 ? "not_found_error"
                                     : "api_error";
  ojson err = ojson::object();
  err["message"] = message;
  err["type"] = type;
  err["param"] = nullptr;
  err["code"] = nullptr;
  ojson body = ojson::object();
  body["error"] = err;
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, ojson::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void guarded(httplib::Response& res, const std::function<void()>& fn) {
  run_guarded(res, fn, write_error);
}

[[noreturn]] void type_error(const char* key, const nlohmann::json& v, const char* go_kind,
                             const char* go_type) {
  throw util::bad_request(std::string("json: cannot unmarshal ") + api::go_json_kind(v) +
                          " into Go struct field " + go_type + "." + key + " of type " + go_kind);
}

void expect_kind(const nlohmann::json& obj, const char* key, Kind kind, const char* go_type) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return;
  const nlohmann::json& v = *it;
  switch (kind) {
    case Kind::kString:
      if (!v.is_string()) type_error(key, v, "string", go_type);
      break;
    case Kind::kBool:
      if (!v.is_boolean()) type_error(key, v, "bool", go_type);
      break;
    case Kind::kNumber:
      if (!v.is_number()) type_error(key, v, "float64", go_type);
      break;
    case Kind::kInteger:
      if (!v.is_number_integer()) type_error(key, v, "int", go_type);
      break;
    case Kind::kArray:
      if (!v.is_array()) type_error(key, v, "[]interface {}", go_type);
      break;
    case Kind::kObject:
      if (!v.is_object()) type_error(key, v, "map[string]interface {}", go_type);
      break;
  }
}

std::string new_id(const std::string& prefix) {
  // A random start per process, then a counter: unique within the process, and unlikely to
  // repeat across restarts.
  static std::atomic<uint64_t> next{std::random_device{}() % 1000000000ull};
  return prefix + std::to_string(next.fetch_add(1));
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

api::ThinkValue think_from_effort(const std::string& effort) {
  api::ThinkValue t;
  t.set = true;
  t.enabled = effort != "none";
  if (effort == "none") return t;
  if (effort == "minimal") {
    t.level = "low";
    return t;
  }
  if (effort == "low" || effort == "medium" || effort == "high" || effort == "max") {
    t.level = effort;
    return t;
  }
  if (effort == "xhigh" || effort == "ultra") {
    t.level = "max";
    return t;
  }
  throw util::bad_request("invalid reasoning value: '" + effort +
                          "' (must be \"none\", \"minimal\", \"low\", \"medium\", \"high\", "
                          "\"xhigh\" or \"max\")");
}

nlohmann::json sampling_options(const nlohmann::json& r) {
  nlohmann::json o = nlohmann::json::object();
  auto num = [&](const char* key) -> const nlohmann::json* {
    auto it = r.find(key);
    if (it == r.end() || it->is_null()) return nullptr;
    if (!it->is_number()) {
      throw util::bad_request(std::string("invalid type for '") + key + "': expected a number");
    }
    return &*it;
  };
  // OpenAI's defaults, not the model's (§5.1).
  o["temperature"] = num("temperature") ? num("temperature")->get<double>() : 1.0;
  double top_p = num("top_p") ? num("top_p")->get<double>() : 1.0;
  o["top_p"] = top_p == 0 ? 1.0 : top_p;
  if (auto* v = num("seed")) o["seed"] = v->get<int64_t>();
  if (auto* v = num("frequency_penalty")) o["frequency_penalty"] = v->get<double>();
  if (auto* v = num("presence_penalty")) o["presence_penalty"] = v->get<double>();
  if (auto* v = num("max_tokens")) {
    o["num_predict"] = v->get<int64_t>();
  } else if (auto* w = num("max_completion_tokens")) {
    o["num_predict"] = w->get<int64_t>();
  }
  if (auto it = r.find("stop"); it != r.end() && !it->is_null()) {
    nlohmann::json stop = nlohmann::json::array();
    if (it->is_string()) {
      stop.push_back(*it);
    } else if (it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string())
          throw util::bad_request("invalid type for 'stop' field: expected string");
        stop.push_back(s);
      }
    } else {
      throw util::bad_request("invalid type for 'stop' field: expected string or array");
    }
    o["stop"] = stop;
  }
  return o;
}

std::string response_format(const nlohmann::json& r, std::string_view body) {
  auto rf = r.find("response_format");
  if (rf == r.end() || !rf->is_object()) return "";
  const auto t = rf->find("type");
  const std::string type = t != rf->end() && t->is_string() ? t->get<std::string>() : "";
  if (type.empty() || type == "text") return "";
  if (type == "json_object") return "\"json\"";
  if (type != "json_schema") throw util::bad_request("invalid response_format type: " + type);
  const ojson o = util::parse_json<ojson>(body);
  const ojson& f = o.at("response_format");
  auto js = f.find("json_schema");
  if (js == f.end() || !js->is_object() || !js->contains("schema") || !(*js)["schema"].is_object())
    throw util::bad_request("response_format json_schema needs a json_schema.schema object");
  std::string spec = (*js)["schema"].dump();
  engine::sample::compile_format(spec);  // a schema it cannot follow is a 400 now
  return spec;
}

Framing sse_framing() {
  Framing f;
  f.content_type = "text/event-stream";
  f.late_error = [](int, const std::string& message) {
    ojson e = ojson::object();
    e["error"] = {
        {"message", message}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}};
    return sse_data(e) + "data: [DONE]\n\n";
  };
  f.early_error = [](httplib::Response& res, int status, const std::string& message) {
    write_error(res, status, message);
  };
  return f;
}

std::string image_from_url(const std::string& url) {
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

bool flag(const nlohmann::json& r, const char* key) {
  auto it = r.find(key);
  return it != r.end() && it->is_boolean() && it->get<bool>();
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

ojson openai_tool_calls(const std::vector<prompt::ToolCall>& calls) {
  ojson out = ojson::array();
  for (const auto& c : calls) {
    ojson tc = ojson::object();
    tc["id"] = c.id.empty() ? new_id("call_") : c.id;
    tc["index"] = c.index;
    tc["type"] = "function";
    ojson f = ojson::object();
    f["name"] = c.name;
    f["arguments"] = c.arguments.is_null() ? std::string("{}") : c.arguments.dump();
    tc["function"] = f;
    out.push_back(tc);
  }
  return out;
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

ojson usage_json(const runner::CompletionResult& r) {
  ojson u = ojson::object();
  u["prompt_tokens"] = r.prompt_eval_count;
  u["completion_tokens"] = r.eval_count;
  u["total_tokens"] = r.prompt_eval_count + r.eval_count;
  return u;
}

std::string stream_end(bool usage, ojson env, const runner::CompletionResult& r) {
  std::string s;
  if (usage) {
    env["choices"] = ojson::array();
    env["usage"] = usage_json(r);
    s = sse_data(env);
  }
  return s + "data: [DONE]\n\n";
}

namespace {

// The fields this layer reads must have the types OpenAI's schema gives them: a wrong type is
// the client's error (400), as Go's decoder reports it in Ollama.
void check_types(const nlohmann::json& r, const char* go_type) {
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
      if (!m.is_object()) continue;  // "invalid message format" later
      expect_kind(m, "role", Kind::kString, "Message");
      expect_kind(m, "name", Kind::kString, "Message");
      expect_kind(m, "tool_call_id", Kind::kString, "Message");
      expect_kind(m, "reasoning", Kind::kString, "Message");
      expect_kind(m, "tool_calls", Kind::kArray, "Message");
    }
  }
}

}  // namespace

nlohmann::json parse_request(Call& c, const char* go_type) {
  nlohmann::json r = api::parse_body(c.body.text());
  if (!r.is_object())
    throw util::bad_request(std::string("invalid request: expected a ") + go_type);
  check_types(r, go_type);
  if (str(r, "model").empty()) throw util::bad_request("model is required");
  return r;
}

}  // namespace server::openai
