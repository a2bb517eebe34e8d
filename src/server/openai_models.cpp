// POST /v1/embeddings, GET /v1/models and GET /v1/models/:model (§5.3).
#include <cstring>

#include "api/decode.h"
#include "server/embedding.h"
#include "server/openai.h"
#include "store/model.h"
#include "util/error.h"

namespace server::openai {
namespace {

using nlohmann::json;

std::string base64(const std::vector<float>& v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian float32 (x86, arm)
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

void embeddings(Context& ctx, Call& c) {
  const json r = api::parse_body(c.body.text());
  if (!r.is_object()) throw util::bad_request("invalid request");
  EmbedJob job;
  if (r.contains("model") && r["model"].is_string()) job.model = r["model"];
  if (job.model.empty()) throw util::bad_request("model is required");
  const json in = r.contains("input") ? r["input"] : json();
  if (in.is_string()) {
    job.inputs.push_back(in.get<std::string>());  // "" embeds as [""]
  } else if (in.is_array() && !in.empty()) {
    for (const auto& s : in) {
      if (!s.is_string()) throw util::bad_request("invalid input");
      job.inputs.push_back(s);
    }
  } else {
    throw util::bad_request("invalid input");
  }
  std::string format = "float";
  if (r.contains("encoding_format") && !r["encoding_format"].is_null()) {
    format = r["encoding_format"].is_string() ? r["encoding_format"].get<std::string>() : "?";
    if (format != "float" && format != "base64")
      throw util::bad_request("Invalid value for 'encoding_format' = " + format +
                              ". Supported values: ['float', 'base64'].");
  }
  if (r.contains("dimensions") && r["dimensions"].is_number_integer())
    job.dimensions = r["dimensions"].get<int>();
  EmbedOutput out = run_embed(ctx, job);

  // Built as text so float vectors keep float32's shortest form.
  std::string s = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < out.embeddings.size(); i++) {
    if (i) s += ',';
    s += "{\"object\":\"embedding\",\"embedding\":";
    s += format == "base64" ? "\"" + base64(out.embeddings[i]) + "\""
                            : floats_json(out.embeddings[i]);
    s += ",\"index\":" + std::to_string(i) + "}";
  }
  s += "],\"model\":" + json(job.model).dump() +
       ",\"usage\":{\"prompt_tokens\":" + std::to_string(out.prompt_eval_count) +
       ",\"total_tokens\":" + std::to_string(out.prompt_eval_count) + "}}";
  c.res.status = 200;
  c.res.set_content(s, "application/json; charset=utf-8");
}

ojson model_object(const store::ListedModel& lm) {
  ojson m = ojson::object();
  m["id"] = lm.name.display_shortest();
  m["object"] = "model";
  m["created"] = lm.mtime_unix_ns / 1'000'000'000;
  m["owned_by"] = lm.name.name_space;
  return m;
}

void write(httplib::Response& res, const ojson& j) {
  res.status = 200;
  res.set_content(j.dump(-1, ' ', false, ojson::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void list_models(Context& ctx, Call& c) {
  ojson data = ojson::array();
  for (const auto& lm : ctx.store->list()) data.push_back(model_object(lm));
  ojson j = ojson::object();
  j["object"] = "list";
  j["data"] = data;
  write(c.res, j);
}

void get_model(Context& ctx, Call& c) {
  const std::string id = c.param("model");
  const auto want = store::ModelName::parse(id);
  if (want.is_valid()) {
    const auto resolved = ctx.store->resolve(want);
    for (const auto& lm : ctx.store->list()) {
      if (lm.name.display_long() == resolved.display_long()) {
        ojson m = model_object(lm);
        m["id"] = id;  // as the client asked for it ("llama3" stays "llama3")
        write(c.res, m);
        return;
      }
    }
  }
  throw util::not_found("model '" + id + "' not found");
}

}  // namespace

void add_model_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/embeddings", [&ctx](Call& c) { guarded(c.res, [&] { embeddings(ctx, c); }); });
  r.add("GET", "/v1/models", [&ctx](Call& c) { guarded(c.res, [&] { list_models(ctx, c); }); });
  r.add("GET", "/v1/models/:model",
        [&ctx](Call& c) { guarded(c.res, [&] { get_model(ctx, c); }); });
}

}  // namespace server::openai

namespace server {
void add_openai_routes(Router& r, Context& ctx) {
  openai::add_chat_routes(r, ctx);
  openai::add_completions_routes(r, ctx);
  openai::add_responses_routes(r, ctx);
  openai::add_model_routes(r, ctx);
}
}  // namespace server
