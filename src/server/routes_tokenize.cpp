// POST /api/tokenize {model, content} -> {model, tokens} and POST /api/detokenize {model,
// tokens} -> {model, content} (beyond Ollama; llama-server has both). Tokens are what the
// model reads for that text as a prompt: special tokens in the text are parsed, and the
// tokenizer's BOS is added when the model adds one. The model loads as for a generation.
#include <chrono>

#include "api/decode.h"
#include "api/generate.h"
#include "api/limits.h"
#include "server/connections.h"
#include "server/context.h"
#include "server/generation.h"
#include "server/http.h"
#include "util/error.h"

namespace server {
namespace {

struct TokenizeCall {
  std::string model;
  std::optional<int64_t> keep_alive_ns;
  nlohmann::json options = nlohmann::json::object();
};

TokenizeCall read_common(const api::Fields& f) {
  TokenizeCall t;
  f.get("model", t.model);
  if (t.model.empty()) f.get("name", t.model);
  if (t.model.empty()) throw util::bad_request("model is required");
  t.keep_alive_ns = api::parse_keep_alive(f.raw("keep_alive"));
  f.get_json("options", t.options, /*object_only=*/true);
  if (t.options.is_null()) t.options = nlohmann::json::object();
  return t;
}

std::unique_ptr<sched::Lease> load(Context& ctx, const TokenizeCall& t) {
  GenModel m = resolve_model(ctx, t.model);
  return ctx.scheduler->acquire(
      model_request(m, merge_options(m.model.options, t.options), t.keep_alive_ns),
      current_client().gone_token());
}

void tokenize(Context& ctx, Call& c) {
  const auto body = api::parse_body(c.body.text());
  api::Fields f(body, "TokenizeRequest");
  TokenizeCall t = read_common(f);
  std::string content;
  f.get("content", content);
  auto lease = load(ctx, t);
  const std::vector<int32_t> ids = lease->runner().tokenize(content);
  std::string s = "{\"model\":" + dump_json(t.model) + ",\"tokens\":[";
  for (size_t i = 0; i < ids.size(); i++) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += "]}";
  c.res.status = 200;
  c.res.set_content(s, "application/json; charset=utf-8");
}

void detokenize(Context& ctx, Call& c) {
  const auto body = api::parse_body(c.body.text());
  api::Fields f(body, "DetokenizeRequest");
  TokenizeCall t = read_common(f);
  std::vector<int64_t> raw;
  if (const nlohmann::json* v = f.raw("tokens"); v && !v->is_null()) {
    if (!v->is_array()) throw util::bad_request("tokens must be an array of token ids");
    api::check_count("tokens", v->size(), api::kMaxDetokenizeTokens);
    for (const auto& e : *v) {
      if (!e.is_number_integer()) throw util::bad_request("tokens must be an array of token ids");
      raw.push_back(e.get<int64_t>());
    }
  }
  auto lease = load(ctx, t);
  const int32_t n = lease->runner().vocab_size();
  std::vector<int32_t> ids;
  ids.reserve(raw.size());
  for (int64_t id : raw) {
    if (id < 0 || id >= n)
      throw util::bad_request("token " + std::to_string(id) + " is not in the vocabulary (0.." +
                              std::to_string(n - 1) + ")");
    ids.push_back(static_cast<int32_t>(id));
  }
  const std::string text = lease->runner().detokenize(ids);
  c.res.status = 200;
  c.res.set_content("{\"model\":" + dump_json(t.model) + ",\"content\":" + dump_json(text) + "}",
                    "application/json; charset=utf-8");
}

}  // namespace

void add_tokenize_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/tokenize", [&ctx](Call& c) { tokenize(ctx, c); });
  r.add("POST", "/api/detokenize", [&ctx](Call& c) { detokenize(ctx, c); });
}

}  // namespace server
