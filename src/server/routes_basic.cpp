// GET/HEAD /, GET/HEAD /api/version, GET /api/ps.
#include "api/types.h"
#include "api/version.h"
#include "server/context.h"
#include "server/http.h"

namespace server {

void add_basic_routes(Router& r, Context& ctx) {
  auto root = [](Call& c) {
    c.res.status = 200;
    c.res.set_content("Ollama is running", "text/plain; charset=utf-8");
  };
  r.add("GET", "/", root);
  r.add("HEAD", "/", root);

  auto version = [](Call& c) { write_json(c.res, 200, api::VersionResponse{api::kVersion}); };
  r.add("GET", "/api/version", version);
  r.add("HEAD", "/api/version", version);

  r.add("GET", "/api/ps", [&ctx](Call& c) {
    api::ProcessResponse resp;
    resp.models = ctx.running->list();
    write_json(c.res, 200, resp);
  });
}

}  // namespace server
