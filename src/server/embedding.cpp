#include "server/embedding.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include "api/limits.h"
#include "engine/embed.h"
#include "server/connections.h"
#include "server/generation.h"
#include "store/name.h"
#include "util/error.h"

namespace server {

namespace {
int64_t ns_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t)
      .count();
}
}  // namespace

void l2_normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const double inv = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(x * inv);
}

std::string floats_json(const std::vector<float>& v) {
  std::string out;
  out.reserve(v.size() * 12 + 2);
  out += '[';
  char buf[32];
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out += ',';
    auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
  return out;
}

EmbedOutput run_embed(Context& ctx, const EmbedJob& job) {
  api::check_count("inputs", job.inputs.size(), api::kMaxEmbedInputs);
  const auto start = std::chrono::steady_clock::now();
  // Embedding routes report a missing model the way the scheduler does upstream.
  const auto name = store::ModelName::parse(job.model);
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  if (!ctx.store->read_manifest(ctx.store->resolve(name))) {
    throw util::not_found("model \"" + job.model + "\" not found, try pulling it first");
  }
  GenModel m = resolve_model(ctx, job.model);
  api::Options options = merge_options(m.model.options, job.options);
  auto lease = ctx.scheduler->acquire(model_request(m, options, job.keep_alive_ns),
                                      current_client().gone_token());
  EmbedOutput out;
  out.load_ns = ns_since(start);
  if (job.inputs.empty()) return out;

  runner::Runner& r = lease->runner();
  if (!r.can_embed()) throw util::bad_request("\"" + job.model + "\" does not support embeddings");
  if (r.reranks()) throw util::bad_request("\"" + job.model + "\" is a reranker: use /api/rerank");
  std::vector<std::vector<int32_t>> batch;
  batch.reserve(job.inputs.size());
  for (const std::string& text : job.inputs) {
    batch.push_back(r.embed_tokens(text, job.truncate));
    out.prompt_eval_count += static_cast<int>(batch.back().size());
  }
  out.embeddings = r.embed(batch);
  for (auto& v : out.embeddings) {
    for (float x : v)
      if (!std::isfinite(x))
        throw util::Error("embedding contains NaN or Inf values", util::ErrorKind::kInternal);
    if (job.normalize) {
      l2_normalize(v);
      if (job.dimensions > 0 && job.dimensions < static_cast<int>(v.size())) {
        v.resize(job.dimensions);
        l2_normalize(v);
      }
    } else if (job.dimensions > 0 && job.dimensions < static_cast<int>(v.size())) {
      v.resize(job.dimensions);
    }
  }
  out.total_ns = ns_since(start);
  return out;
}

RerankOutput run_rerank(Context& ctx, const RerankJob& job) {
  api::check_count("documents", job.documents.size(), api::kMaxEmbedInputs);
  const auto name = store::ModelName::parse(job.model);
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  if (!ctx.store->read_manifest(ctx.store->resolve(name)))
    throw util::not_found("model \"" + job.model + "\" not found, try pulling it first");
  GenModel m = resolve_model(ctx, job.model);
  api::Options options = merge_options(m.model.options, job.options);
  auto lease = ctx.scheduler->acquire(model_request(m, options, job.keep_alive_ns),
                                      current_client().gone_token());
  runner::Runner& r = lease->runner();
  if (!r.reranks()) throw util::bad_request("\"" + job.model + "\" does not support reranking");
  RerankOutput out;
  if (job.documents.empty()) return out;
  std::vector<std::vector<int32_t>> batch;
  batch.reserve(job.documents.size());
  for (const std::string& doc : job.documents) {
    batch.push_back(r.pair_tokens(job.query, doc, job.truncate));
    out.tokens += static_cast<int>(batch.back().size());
  }
  for (const auto& s : r.embed(batch)) {
    if (s.empty() || !std::isfinite(s[0]))
      throw util::Error("score is NaN or Inf", util::ErrorKind::kInternal);
    out.scores.push_back(s[0]);
  }
  return out;
}

}  // namespace server
