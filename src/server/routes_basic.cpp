// GET/HEAD /, GET/HEAD /api/version, GET /api/status, GET /api/ps, GET /metrics.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/types.h"
#include "api/version.h"
#include "server/context.h"
#include "server/http.h"
#include "server/metrics.h"

namespace server {
namespace {

// ~/.ollama/server.json {"disable_ollama_cloud": true}; unreadable or absent = false.
bool cloud_disabled_by_config(const std::string& home_dir) {
  std::ifstream in(std::filesystem::path(home_dir) / "server.json");
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return false;
  auto it = j.find("disable_ollama_cloud");
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

void add_basic_routes(Router& r, Context& ctx) {
  auto root = [](Call& c) {
    c.res.status = 200;
    c.res.set_content("Ollama is running", "text/plain; charset=utf-8");
  };
  r.add("GET", "/", root);
  r.add("HEAD", "/", root);

  r.add("GET", "/metrics", [&ctx](Call& c) {
    c.res.status = 200;
    c.res.set_content(ctx.metrics ? ctx.metrics->render(ctx.scheduler.get()) : std::string(),
                      "text/plain; version=0.0.4; charset=utf-8");
  });

  auto version = [](Call& c) { write_json(c.res, 200, api::VersionResponse{api::kVersion}); };
  r.add("GET", "/api/version", version);
  r.add("HEAD", "/api/version", version);

  r.add("GET", "/api/status", [&ctx](Call& c) {
    bool env = ctx.config.no_cloud;
    bool config = cloud_disabled_by_config(ctx.config.home_dir);
    const char* source = env && config ? "both" : env ? "env" : config ? "config" : "none";
    write_json(c.res, 200, {{"cloud", {{"disabled", env || config}, {"source", source}}}});
  });

  r.add("GET", "/api/ps", [&ctx](Call& c) {
    api::ProcessResponse resp;
    resp.models = ctx.running->list();
    write_json(c.res, 200, resp);
  });
}

}  // namespace server
