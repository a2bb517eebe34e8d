// POST /api/create: decode, validate the name, run the create pipeline with streamed statuses.
#include "api/types.h"
#include "create/create.h"
#include "prompt/template.h"
#include "registry/transfer.h"
#include "server/context.h"
#include "server/http.h"
#include "server/stream.h"
#include "util/error.h"

namespace server {
namespace {

// fs.ValidPath: relative, '/'-separated, no empty, "." or ".." elements.
bool valid_relative_path(const std::string& p) {
  if (p == ".") return true;
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string elem = p.substr(i, j - i);
    if (elem.empty() || elem == "." || elem == "..") return false;
    i = j + 1;
  }
  return true;
}

create::CreateRequest to_pipeline_request(const api::CreateRequest& r, const std::string& name) {
  create::CreateRequest out;
  out.model = name;
  out.from = r.from;
  out.files = r.files;
  out.adapters = r.adapters;
  out.template_text = r.template_text;
  out.system = r.system;
  out.license = r.license;
  out.parameters = r.parameters;
  if (!r.messages.empty()) {
    out.messages = nlohmann::json::array();
    for (const auto& m : r.messages)
      out.messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  out.quantize = r.quantize;
  out.requires_version = r.requires_version;
  out.renderer = r.renderer;
  out.parser = r.parser;
  return out;
}

void create_handler(Context& ctx, Call& c) {
  auto req = c.json_body().get<api::CreateRequest>();
  for (const auto& [path, digest] : req.files)
    if (!valid_relative_path(path)) throw util::bad_request("file path must be relative");
  auto name = store::ModelName::parse(req.model);
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  name = ctx.store->resolve(name);
  auto pipeline_req = to_pipeline_request(req, name.display_long());
  create::CreateOptions opts;
  opts.noprune = ctx.config.noprune;
  opts.validate_template = [](const std::string& text) { prompt::Template::parse(text); };
  // A missing base model is pulled first, as upstream does (pull statuses stream through).
  opts.pull_model = [&ctx](const store::ModelName& base, const create::ProgressFn& status) {
    registry::Options ro;
    ro.insecure = base.scheme == "http";
    registry::pull(
        *ctx.store, base, ro,
        [&status](const api::ProgressResponse& p) {
          status(create::Progress{p.status, p.digest, p.total, p.completed});
        },
        nullptr, ctx.config.noprune);
  };
  bool stream = req.stream.value_or(true);
  respond_stream(c.res, stream, [&ctx, pipeline_req, opts](StreamWriter& w) {
    create::create_model(
        *ctx.store, pipeline_req,
        [&w](const create::Progress& p) {
          api::ProgressResponse pr{p.status, p.digest, p.total, p.completed};
          w.send(pr);
        },
        opts);
  });
}

}  // namespace

void add_create_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/create", [&ctx](Call& c) { create_handler(ctx, c); });
}

}  // namespace server
