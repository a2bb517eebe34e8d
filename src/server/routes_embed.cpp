// POST /api/embed (§3.3, normalized, batched) and the legacy POST /api/embeddings (§3.4, raw).
#include "api/decode.h"
#include "api/generate.h"
#include "server/context.h"
#include "server/embedding.h"
#include "server/http.h"
#include "util/error.h"

namespace server {
namespace {

void read_common(const api::Fields& f, EmbedJob& job) {
  f.get("model", job.model);
  if (job.model.empty()) f.get("name", job.model);
  job.keep_alive_ns = api::parse_keep_alive(f.raw("keep_alive"));
  f.get_json("options", job.options, /*object_only=*/true);
  if (job.options.is_null()) job.options = nlohmann::json::object();
}

void embed(Context& ctx, Call& c) {
  const auto body = api::parse_body(c.body.text());
  api::Fields f(body, "EmbedRequest");
  EmbedJob job;
  read_common(f, job);
  f.get("truncate", job.truncate);
  f.get("dimensions", job.dimensions);
  if (const json* in = f.raw("input"); in && !in->is_null()) {
    if (in->is_string()) {
      if (!in->get<std::string>().empty()) job.inputs.push_back(in->get<std::string>());
    } else if (in->is_array()) {
      for (const auto& v : *in) {
        if (!v.is_string()) throw util::bad_request("invalid input type");
        job.inputs.push_back(v.get<std::string>());
      }
    } else {
      throw util::bad_request("invalid input type");
    }
  }
  if (job.model.empty()) throw util::not_found("model '' not found");
  EmbedOutput out = run_embed(ctx, job);

  // Written by hand so the vectors keep float32's shortest text.
  std::string s = "{\"model\":" + dump_json(job.model) + ",\"embeddings\":[";
  for (size_t i = 0; i < out.embeddings.size(); i++) {
    if (i) s += ',';
    s += floats_json(out.embeddings[i]);
  }
  s += ']';
  if (out.embeddings.empty()) out = EmbedOutput{};  // a load-only request reports no metrics
  if (out.total_ns) s += ",\"total_duration\":" + std::to_string(out.total_ns);
  if (out.load_ns) s += ",\"load_duration\":" + std::to_string(out.load_ns);
  if (out.prompt_eval_count) s += ",\"prompt_eval_count\":" + std::to_string(out.prompt_eval_count);
  s += '}';
  c.res.status = 200;
  c.res.set_content(s, "application/json; charset=utf-8");
}

void embeddings_legacy(Context& ctx, Call& c) {
  const auto body = api::parse_body(c.body.text());
  api::Fields f(body, "EmbeddingRequest");
  EmbedJob job;
  read_common(f, job);
  std::string prompt;
  f.get("prompt", prompt);
  if (job.model.empty()) throw util::bad_request("model is required");
  if (!prompt.empty()) job.inputs.push_back(prompt);
  job.normalize = false;  // raw vectors, as the older endpoint returned them
  EmbedOutput out = run_embed(ctx, job);
  nlohmann::json j = nlohmann::json::object();
  j["embedding"] = nlohmann::json::array();
  if (!out.embeddings.empty()) {
    // Go widens each float32 to float64 here.
    for (float x : out.embeddings[0]) j["embedding"].push_back(static_cast<double>(x));
  }
  write_json(c.res, 200, j);
}

}  // namespace

void add_embed_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/embed", [&ctx](Call& c) { embed(ctx, c); });
  r.add("POST", "/api/embeddings", [&ctx](Call& c) { embeddings_legacy(ctx, c); });
}

}  // namespace server
