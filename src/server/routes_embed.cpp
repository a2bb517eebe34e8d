// POST /api/embed (§3.3, normalized, batched), the legacy POST /api/embeddings (§3.4, raw),
// and POST /api/rerank, /v1/rerank (cross-encoder rerankers).
#include <algorithm>

#include "api/decode.h"
#include "api/generate.h"
#include "server/context.h"
#include "server/embedding.h"
#include "server/http.h"
#include "server/openai.h"
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

// POST /api/rerank and /v1/rerank (beyond Ollama; the shape of llama-server's and Jina's):
// {model, query, documents, top_n?, return_documents?} -> results sorted by relevance.
void rerank(Context& ctx, Call& c) {
  const auto body = api::parse_body(c.body.text());
  api::Fields f(body, "RerankRequest");
  RerankJob job;
  f.get("model", job.model);
  if (job.model.empty()) throw util::bad_request("model is required");
  if (const json* q = f.raw("query"); !q || !q->is_string())
    throw util::bad_request("query is required and must be a string");
  f.get("query", job.query);
  const json* docs = f.raw("documents");
  if (!docs || !docs->is_array()) throw util::bad_request("documents must be an array of strings");
  for (const auto& d : *docs) {
    // Strings, or {"text": ...} objects as some clients send them.
    if (d.is_string())
      job.documents.push_back(d.get<std::string>());
    else if (d.is_object() && d.contains("text") && d["text"].is_string())
      job.documents.push_back(d["text"].get<std::string>());
    else
      throw util::bad_request("documents must be an array of strings");
  }
  int top_n = 0;
  f.get("top_n", top_n);
  if (top_n < 0) throw util::bad_request("top_n must not be negative");
  bool return_documents = false;
  f.get("return_documents", return_documents);
  f.get("truncate", job.truncate);
  job.keep_alive_ns = api::parse_keep_alive(f.raw("keep_alive"));
  f.get_json("options", job.options, /*object_only=*/true);
  if (job.options.is_null()) job.options = json::object();
  RerankOutput out = run_rerank(ctx, job);

  std::vector<size_t> order(out.scores.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return out.scores[a] > out.scores[b]; });
  if (top_n > 0 && static_cast<size_t>(top_n) < order.size()) order.resize(top_n);
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (size_t i : order) {
    nlohmann::ordered_json r = nlohmann::ordered_json::object();
    r["index"] = i;
    r["relevance_score"] = out.scores[i];
    if (return_documents) r["document"] = {{"text", job.documents[i]}};
    results.push_back(r);
  }
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["model"] = job.model;
  j["results"] = results;
  j["usage"] = {{"total_tokens", out.tokens}};
  c.res.status = 200;
  c.res.set_content(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                    "application/json; charset=utf-8");
}

}  // namespace

void add_embed_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/embed", [&ctx](Call& c) { embed(ctx, c); });
  r.add("POST", "/api/embeddings", [&ctx](Call& c) { embeddings_legacy(ctx, c); });
  r.add("POST", "/api/rerank", [&ctx](Call& c) { rerank(ctx, c); });
  r.add("POST", "/v1/rerank", [&ctx](Call& c) { openai::guarded(c.res, [&] { rerank(ctx, c); }); });
}

}  // namespace server
