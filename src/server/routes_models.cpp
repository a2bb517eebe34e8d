// Model management: GET/HEAD /api/tags, POST /api/show, POST /api/copy, DELETE /api/delete.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "api/types.h"
#include "server/context.h"
#include "server/http.h"
#include "server/show.h"
#include "store/model.h"
#include "util/error.h"
#include "util/log.h"

namespace server {
namespace {

namespace fs = std::filesystem;

api::ModelDetails details_of(const store::ConfigV2& cf) {
  api::ModelDetails d;
  d.format = cf.model_format;
  d.family = cf.model_family;
  d.families = cf.model_families;
  d.parameter_size = cf.model_type;
  d.quantization_level = cf.file_type;
  return d;
}

int64_t file_mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void tags(Context& ctx, Call& c) {
  api::ListResponse resp;
  for (const auto& lm : ctx.store->list()) {
    auto cf = store::read_config(*ctx.store, lm.manifest);
    if (!cf) continue;
    api::ListModel m;
    m.name = m.model = lm.name.display_shortest();
    m.remote_model = cf->remote_model;
    m.remote_host = cf->remote_host;
    m.modified_at = api::Timestamp::from_unix_nanos_local(lm.mtime_unix_ns);
    m.size = lm.size;
    m.digest = lm.digest;
    m.details = details_of(*cf);
    resp.models.push_back(std::move(m));
  }
  // Most recent first, compared at whole seconds like Ollama (stable for equal seconds).
  std::stable_sort(resp.models.begin(), resp.models.end(), [](const auto& a, const auto& b) {
    return a.modified_at.unix_seconds > b.modified_at.unix_seconds;
  });
  write_json(c.res, 200, resp);
}

void show(Context& ctx, Call& c) {
  auto req = c.json_body().get<api::ShowRequest>();
  if (req.model.empty()) throw util::bad_request("model is required");
  auto name = store::ModelName::parse(req.model);
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  name = ctx.store->resolve(name);
  if (!ctx.store->read_manifest(name)) throw util::not_found("model '" + req.model + "' not found");
  store::Model m = store::load_model(*ctx.store, name);
  auto modified =
      api::Timestamp::from_unix_nanos_local(file_mtime_ns(ctx.store->manifest_path(name)));
  auto resp = build_show_response(std::move(m), req, modified);
  if (c.req.get_header_value("User-Agent").rfind("GitHubCopilotChat/", 0) == 0)
    resp.model_info["general.basename"] = req.model;
  write_json(c.res, 200, resp);
}

void copy(Context& ctx, Call& c) {
  auto req = c.json_body().get<api::CopyRequest>();
  auto src = store::ModelName::parse(req.source);
  if (!src.is_valid()) throw util::bad_request("source " + go_quote(req.source) + " is invalid");
  src = ctx.store->resolve(src);
  auto dst = store::ModelName::parse(req.destination);
  if (!dst.is_valid())
    throw util::bad_request("destination " + go_quote(req.destination) + " is invalid");
  dst = ctx.store->resolve(dst);
  if (!ctx.store->read_manifest_bytes(src))
    throw util::not_found("model " + go_quote(req.source) + " not found");
  ctx.store->copy(src, dst);
  c.res.status = 200;
}

void remove(Context& ctx, Call& c) {
  auto req = c.json_body().get<api::DeleteRequest>();
  auto name = store::ModelName::parse(req.model);
  if (!name.is_valid()) throw util::bad_request("name " + go_quote(req.model) + " is invalid");
  name = ctx.store->resolve(name);
  if (!ctx.store->read_manifest_bytes(name))
    throw util::not_found("model '" + req.model + "' not found");
  ctx.store->remove(name);
  c.res.status = 200;
}

}  // namespace

void add_model_routes(Router& r, Context& ctx) {
  r.add("GET", "/api/tags", [&ctx](Call& c) { tags(ctx, c); });
  r.add("HEAD", "/api/tags", [&ctx](Call& c) { tags(ctx, c); });
  r.add("POST", "/api/show", [&ctx](Call& c) { show(ctx, c); });
  r.add("POST", "/api/copy", [&ctx](Call& c) { copy(ctx, c); });
  r.add("DELETE", "/api/delete", [&ctx](Call& c) { remove(ctx, c); });
}

}  // namespace server
