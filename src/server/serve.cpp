#include "server/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "api/version.h"
#include "registry/identity.h"
#include "server/context.h"
#include "server/metrics.h"
#include "server/running_models.h"
#include "server/server.h"
#include "server/stream.h"
#include "util/env.h"
#include "util/error.h"
#include "util/log.h"

namespace server {
namespace {

// How often a shutdown that waits for slow requests says so.
constexpr auto kShutdownGrace = std::chrono::seconds(10);

std::string describe_config(const util::Config& cfg) {
  std::string s = "map[";
  bool first = true;
  for (const auto& [k, v] : cfg.describe()) {
    s += (first ? "" : " ") + k + ":" + v;
    first = false;
  }
  return s + "]";
}

// Waits for SIGINT/SIGTERM (blocked in every thread) and stops the server.
class SignalWatcher {
 public:
  explicit SignalWatcher(HttpServer& http) : http_(http) {
    thread_ = std::thread([this] { loop(); });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
  }
  bool signalled() const { return signalled_; }

 private:
  void loop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    timespec tick{0, 200'000'000};
    while (!done_) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig != SIGINT && sig != SIGTERM) continue;
      LOG_INFO("received {}, shutting down", sig == SIGINT ? "interrupt" : "terminated");
      signalled_ = true;
      http_.stop();  // run() returns; serve_main waits for the requests in flight
      return;
    }
  }
  HttpServer& http_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<bool> signalled_{false};
};

}  // namespace

int serve_main() {
  // Block the signals before any thread starts so only the watcher receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that goes away must not kill the server

  try {
    Context ctx;
    ctx.config = util::Config::from_env();
    util::init_logging(ctx.config.debug);
    LOG_INFO("server config env={}", describe_config(ctx.config));

    registry::ensure_identity_key(ctx.config.home_dir);

    ctx.store = std::make_unique<store::Store>(ctx.config.models_dir);
    if (!ctx.config.noprune) {
      try {
        ctx.store->prune();
      } catch (const std::exception& e) {
        LOG_WARN(
            "corrupt manifests detected, skipping prune operation.  Re-pull or delete to "
            "clear: {}",
            e.what());
      }
    }
    ctx.scheduler = std::make_unique<sched::Scheduler>(scheduler_settings(ctx.config));
    ctx.running = std::make_unique<SchedulerRunningModels>(*ctx.scheduler);
    ctx.cors = std::make_unique<CorsPolicy>(ctx.config.origins);
    ctx.metrics = std::make_shared<Metrics>();
    LOG_INFO("Ollama cloud disabled: {}", ctx.config.no_cloud ? "true" : "false");

    HttpServer http(ctx);
    const auto& host = ctx.config.host;
    int port = http.bind(host.host, host.port);
    std::string addr = host.host.find(':') != std::string::npos ? "[" + host.host + "]" : host.host;
    LOG_INFO("Listening on {}:{} (version {})", addr, port, api::kVersion);
    {
      SignalWatcher watcher(http);
      http.run();
    }
    // Requests in flight drain: streams end at their next frame and their waits for a model or
    // a slot at once (ClientWatch::ended), uploads when their body is in. Then the models are
    // unloaded (runner loops joined) before the process exits normally.
    while (!http.wait_idle(kShutdownGrace))
      LOG_WARN("{} requests still running; waiting for them to finish", http.busy());
    ctx.running.reset();
    if (ctx.scheduler) {
      LOG_INFO("unloading models");
      ctx.scheduler.reset();
    }
    LOG_INFO("server stopped");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace server
