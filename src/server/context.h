// What every route needs: settings, the store, the running-models view, CORS policy.
#pragma once
#include <memory>

#include "api/types.h"
#include "sched/scheduler.h"
#include "server/access.h"
#include "store/store.h"
#include "util/env.h"

namespace server {

// The loaded-models view behind GET /api/ps. The scheduler implements it; until then the
// server uses NoRunningModels.
class RunningModels {
 public:
  virtual ~RunningModels() = default;
  // Loaded models, sorted by expires_at descending (longest remaining first).
  virtual std::vector<api::ProcessModel> list() = 0;
};

class NoRunningModels : public RunningModels {
 public:
  std::vector<api::ProcessModel> list() override { return {}; }
};

class Metrics;  // metrics.h

struct Context {
  util::Config config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<sched::Scheduler> scheduler;  // null until serve starts it
  std::unique_ptr<RunningModels> running;
  std::unique_ptr<CorsPolicy> cors;
  std::shared_ptr<Metrics> metrics;  // null: nothing recorded (tests), /metrics is empty
};

class Router;
// One function per endpoint family (routes_*.cpp).
void add_basic_routes(Router& r, Context& ctx);     // /, /api/version, /api/ps
void add_model_routes(Router& r, Context& ctx);     // tags, show, copy, delete
void add_blob_routes(Router& r, Context& ctx);      // /api/blobs/:digest
void add_create_routes(Router& r, Context& ctx);    // /api/create
void add_generate_routes(Router& r, Context& ctx);  // /api/generate
void add_chat_routes(Router& r, Context& ctx);      // /api/chat
void add_registry_routes(Router& r, Context& ctx);  // /api/pull, /api/push
void add_embed_routes(Router& r, Context& ctx);     // /api/embed, /api/embeddings
void add_tokenize_routes(Router& r, Context& ctx);  // /api/tokenize, /api/detokenize
void add_openai_routes(Router& r, Context& ctx);    // /v1/* (OpenAI-compatible)

}  // namespace server
