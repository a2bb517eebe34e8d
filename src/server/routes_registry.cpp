// POST /api/pull and /api/push: the OCI registry client with Ollama's streamed statuses.
#include <atomic>

#include "registry/transfer.h"
#include "server/context.h"
#include "server/http.h"
#include "server/stream.h"
#include "util/error.h"

namespace server {
namespace {

struct TransferRequest {
  store::ModelName name;
  registry::Options opts;
  bool stream = true;
};

TransferRequest parse(Context& ctx, Call& c) {
  json body = c.json_body();
  auto str = [&](const char* k) {
    if (!body.contains(k) || body[k].is_null()) return std::string();
    if (!body[k].is_string()) throw util::bad_request(std::string("invalid type for field ") + k);
    return body[k].get<std::string>();
  };
  std::string model = str("model");
  if (model.empty()) model = str("name");
  TransferRequest r;
  r.name = store::ModelName::parse(model);
  if (!r.name.is_valid()) throw util::bad_request("invalid model name");
  r.name = ctx.store->resolve(r.name);
  if (body.contains("insecure") && body["insecure"].is_boolean())
    r.opts.insecure = body["insecure"];
  if (body.contains("stream") && body["stream"].is_boolean()) r.stream = body["stream"];
  // Credentials for registries that answer with a Basic challenge (Ollama ignores them).
  r.opts.username = str("username");
  r.opts.password = str("password");
  r.opts.key_dir = ctx.config.home_dir;  // token requests signed with id_ed25519 (§8.7)
  return r;
}

void transfer(Context& ctx, Call& c, bool is_pull) {
  TransferRequest r = parse(ctx, c);
  respond_stream(c.res, r.stream, [&ctx, r, is_pull](StreamWriter& w) {
    std::atomic<bool> cancel{false};
    auto progress = [&](const api::ProgressResponse& p) {
      // A client that goes away cancels the transfer; part state stays on disk for resume.
      if (!w.send(p) || w.cancelled()) cancel = true;
    };
    if (is_pull)
      registry::pull(*ctx.store, r.name, r.opts, progress, &cancel, ctx.config.noprune);
    else
      registry::push(*ctx.store, r.name, r.opts, progress, &cancel);
  });
}

}  // namespace

void add_registry_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/pull", [&ctx](Call& c) { transfer(ctx, c, true); });
  r.add("POST", "/api/push", [&ctx](Call& c) { transfer(ctx, c, false); });
}

}  // namespace server
