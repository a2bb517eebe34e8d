#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>

#include "api/decode.h"
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
  try {
    fn();
  } catch (const std::exception& e) {
    ErrorReply r = error_reply(e);
    write_error(res, r.status, r.message);
  }
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

nlohmann::json think_from_effort(const std::string& effort) {
  if (effort == "none") return false;
  if (effort == "minimal") return "low";
  if (effort == "low" || effort == "medium" || effort == "high" || effort == "max") return effort;
  if (effort == "xhigh" || effort == "ultra") return "max";
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

namespace {

// The native routes, dispatched in-process (one router per server context).
Router& native_router(Context& ctx) {
  static std::mutex mu;
  static std::map<Context*, std::unique_ptr<Router>> routers;
  std::lock_guard<std::mutex> l(mu);
  auto& r = routers[&ctx];
  if (!r) {
    r = std::make_unique<Router>();
    add_generate_routes(*r, ctx);
    ::server::add_chat_routes(*r, ctx);
  }
  return *r;
}

std::string native_error_message(const httplib::Response& res) {
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"];
  return res.body.empty() ? "request failed" : res.body;
}

}  // namespace

void run_native(Context& ctx, Call& c, const std::string& path, const nlohmann::json& native_body,
                bool stream, std::shared_ptr<SseTranslator> sse,
                const std::function<ojson(const nlohmann::json&)>& done,
                const std::string& format) {
  httplib::Request inner_req = c.req;
  inner_req.method = "POST";
  inner_req.path = path;
  std::string body = native_body.dump();
  if (!format.empty() && body.size() > 2 && body.back() == '}') {
    body.pop_back();  // spliced in as text: a json object would sort the schema's keys
    body += ",\"format\":" + format + "}";
  }
  RequestBody rb(nullptr, &body);
  auto inner = std::make_shared<httplib::Response>();
  Call ic{inner_req, *inner, rb, {}};
  native_router(ctx).dispatch(ic);
  if (inner->status != 200) {
    write_error(c.res, inner->status > 0 ? inner->status : 500, native_error_message(*inner));
    return;
  }
  if (!inner->content_provider_) {
    auto j = nlohmann::json::parse(inner->body, nullptr, false);
    if (!stream) {
      ojson out = done(j);
      c.res.status = 200;
      c.res.set_content(out.dump(-1, ' ', false, ojson::error_handler_t::replace),
                        "application/json; charset=utf-8");
      return;
    }
    // A native answer that is not a stream (e.g. a load-only reply): one event.
    std::string s;
    for (const auto& p : sse->on_object(j)) s += "data: " + p + "\n\n";
    for (const auto& p : sse->on_end()) s += "data: " + p + "\n\n";
    s += "data: [DONE]\n\n";
    c.res.status = 200;
    c.res.set_content(s, "text/event-stream");
    return;
  }
  // Streaming: take over the native provider and translate its NDJSON lines as they come.
  auto provider = std::move(inner->content_provider_);
  auto releaser = std::move(inner->content_provider_resource_releaser_);
  inner->content_provider_ = nullptr;
  inner->content_provider_resource_releaser_ = nullptr;
  auto buf = std::make_shared<std::string>();
  c.res.status = 200;
  c.res.set_header("Cache-Control", "no-cache");
  c.res.set_chunked_content_provider(
      "text/event-stream",
      [provider, buf, sse, inner](size_t offset, httplib::DataSink& sink) {
        bool ok = true;
        auto send = [&](const std::string& payload) {
          const std::string ev = "data: " + payload + "\n\n";
          if (ok && !sink.write(ev.data(), ev.size())) ok = false;
          return ok;
        };
        httplib::DataSink proxy;
        proxy.is_writable = sink.is_writable;
        proxy.write = [&](const char* d, size_t n) {
          buf->append(d, n);
          size_t pos;
          while (ok && (pos = buf->find('\n')) != std::string::npos) {
            std::string line = buf->substr(0, pos);
            buf->erase(0, pos + 1);
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded()) continue;
            for (const auto& p : sse->on_object(j)) send(p);
          }
          return ok;
        };
        proxy.done = [&] {
          for (const auto& p : sse->on_end()) send(p);
          if (ok && send("[DONE]")) sink.done();
        };
        return provider(offset, 0, proxy) && ok;
      },
      [releaser](bool success) {
        if (releaser) releaser(success);
      });
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
  return (*js)["schema"].dump();
}

}  // namespace server::openai
