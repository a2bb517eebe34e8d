#include "sched/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "engine/card.h"
#include "runner/engine_runner.h"
#include "util/cancel.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/log.h"

namespace sched {

using Clock = std::chrono::steady_clock;

namespace {

// Load errors name the blob file; clients see the model's name instead of a store path.
std::string without_path(std::string msg, const ModelRequest& req) {
  if (req.path.empty()) return msg;
  for (size_t at = msg.find(req.path); at != std::string::npos; at = msg.find(req.path, at))
    msg.replace(at, req.path.size(), "model '" + req.name + "'");
  return msg;
}

}  // namespace

struct Scheduler::Entry {
  std::string name;
  api::ModelDetails details;
  std::shared_ptr<runner::Runner> runner;
  bool loading = true;
  std::string load_error;
  int refs = 0;
  int64_t keep_alive_ns = 0;
  bool unload_when_idle = false;
  Clock::time_point expires;  // valid when refs == 0
  std::chrono::system_clock::time_point expires_wall;
  Clock::time_point last_used;
  int num_ctx = 0, num_batch = 0, num_thread = 0, ctx_train = 0;
  int num_gpu = -1;  // as loaded: -1 automatic
  uint64_t size = 0;
  double load_seconds = 0;
};

Lease::~Lease() {
  if (sched_) sched_->release(key_);
}

Scheduler::Scheduler(Settings s) : s_(s) {
  if (s_.max_loaded_models <= 0) s_.max_loaded_models = 3;
  expiry_ = std::thread([this] { expiry_loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  expiry_.join();
  std::lock_guard<std::mutex> l(mu_);
  loaded_.clear();
}

uint64_t Scheduler::available_memory() const {
  if (s_.memory_limit) return s_.memory_limit;
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return UINT64_MAX;
}

void Scheduler::evict_locked(std::unique_lock<std::mutex>& l, const std::string& key) {
  auto it = loaded_.find(key);
  if (it == loaded_.end()) return;
  std::shared_ptr<Entry> e = it->second;
  loaded_.erase(it);
  LOG_INFO("unloading model name={}", e->name);
  // Free the runner outside the lock: joining its thread can take a step.
  l.unlock();
  e.reset();
  l.lock();
  cv_.notify_all();  // a place and its memory are free
}

std::unique_ptr<Lease> Scheduler::acquire(const ModelRequest& req, std::stop_token cancel) {
  // Every wait below is on cv_, woken by a load ending, a lease ending, an unload, shutdown,
  // or this request's cancellation; each pass of the loop re-reads the state.
  util::WakeOnStop wake(cancel, util::NotifyUnder{&mu_, &cv_});
  std::unique_lock<std::mutex> l(mu_);
  if (pending_ >= s_.max_queue)
    throw util::Error("server busy, please try again.  maximum pending requests exceeded",
                      util::ErrorKind::kUnavailable);
  pending_++;
  struct Pending {
    int& n;
    ~Pending() { n--; }
  } pending_guard{pending_};

  int want_ctx = req.num_ctx > 0 ? req.num_ctx : s_.default_num_ctx;
  while (true) {
    if (cancel.stop_requested()) throw util::Error("request canceled", util::ErrorKind::kCancelled);
    if (stop_) throw util::Error("server is shutting down", util::ErrorKind::kUnavailable);
    auto it = loaded_.find(req.key);
    if (it != loaded_.end()) {
      auto e = it->second;
      if (e->loading) {
        cv_.wait(l);
        continue;
      }
      if (!e->load_error.empty()) {
        std::string err = e->load_error;
        if (e->refs == 0) loaded_.erase(req.key);
        throw util::Error(err);
      }
      // Load-time options that differ force a reload once the model is idle.
      int asked_ctx =
          req.num_ctx > 0 && e->ctx_train > 0 ? std::min(req.num_ctx, e->ctx_train) : req.num_ctx;
      bool differs = (req.num_ctx > 0 && std::max(asked_ctx, 4) != e->num_ctx) ||
                     (req.num_batch > 0 && req.num_batch != e->num_batch) ||
                     (req.num_thread > 0 && req.num_thread != e->num_thread) ||
                     // num_gpu -1 (or absent) takes whatever placement the model has
                     (s_.gpu && req.num_gpu.value_or(-1) >= 0 && *req.num_gpu != e->num_gpu);
      if (!differs) {
        e->refs++;
        e->last_used = Clock::now();
        if (req.keep_alive_ns) e->keep_alive_ns = *req.keep_alive_ns;
        e->unload_when_idle = false;
        auto lease = std::make_unique<Lease>();
        lease->sched_ = this;
        lease->key_ = req.key;
        lease->runner_ = e->runner;
        return lease;
      }
      if (e->refs == 0) {
        evict_locked(l, req.key);
        continue;
      }
      cv_.wait(l);
      continue;
    }
    // Make room: max loaded models and memory.
    std::shared_ptr<const engine::ModelCard> card;
    {
      l.unlock();
      try {
        card = engine::inspect(req.path);
      } catch (const std::exception& e) {
        l.lock();
        throw util::Error(without_path(e.what(), req));
      }
      l.lock();
    }
    const int ctx_train = static_cast<int>(card->n_ctx_train);
    const bool encoder = card->kind != engine::ModelKind::kDecoder;  // no KV cache
    // The lock was released for the header read: another request may have started loading
    // this model meanwhile. One load per key: join it instead of replacing its entry (a
    // replaced entry loses its references and never expires).
    if (loaded_.count(req.key)) continue;
    int num_ctx = ctx_train > 0 ? std::min(want_ctx, ctx_train) : want_ctx;
    num_ctx = std::max(num_ctx, 4);
    uint64_t need = card->memory_bytes(num_ctx, s_.num_parallel, s_.kv_type);
    auto idle_lru = [&]() -> std::string {
      std::string best;
      Clock::time_point t = Clock::time_point::max();
      for (auto& [k, e] : loaded_)
        if (!e->loading && e->refs == 0 && e->last_used < t) {
          t = e->last_used;
          best = k;
        }
      return best;
    };
    if (static_cast<int>(loaded_.size()) >= s_.max_loaded_models) {
      std::string victim = idle_lru();
      if (victim.empty()) {
        cv_.wait(l);
        continue;
      }
      evict_locked(l, victim);
      continue;
    }
    uint64_t avail = available_memory();
    if (need > avail) {
      std::string victim = idle_lru();
      if (!victim.empty()) {
        LOG_INFO("evicting {} to fit {} (need {} bytes, available {})", loaded_[victim]->name,
                 req.name, need, avail);
        evict_locked(l, victim);
        continue;
      }
      bool others_busy = false;
      for (auto& [k, e] : loaded_) others_busy = others_busy || k != req.key;
      if (others_busy) {  // wait for one of them to go idle, then evict it
        cv_.wait(l);
        continue;
      }
      // Nothing left to evict: loading anyway would page the machine to death or get the
      // server killed (a huge num_ctx or num_parallel asks for tens of GB of KV cache).
      auto gib = [](uint64_t b) { return fmt::format("{:.1f} GiB", b / double(1ull << 30)); };
      throw util::Error("model requires more system memory (" + gib(need) +
                            ") than is available (" + gib(avail) + ")",
                        util::ErrorKind::kOutOfMemory);
    }
    auto e = std::make_shared<Entry>();
    e->name = req.name;
    e->details = req.details;
    e->num_ctx = num_ctx;
    e->ctx_train = ctx_train;
    e->num_batch = req.num_batch > 0 ? req.num_batch : 512;
    e->num_thread = req.num_thread;
    e->num_gpu = req.num_gpu.value_or(-1);
    e->keep_alive_ns = req.keep_alive_ns.value_or(s_.default_keep_alive_ns);
    loaded_[req.key] = e;
    l.unlock();
    auto t0 = Clock::now();
    std::string err;
    std::shared_ptr<runner::Runner> r;
    try {
      engine::LoadOptions lo;
      lo.n_threads = req.num_thread > 0 ? req.num_thread : s_.num_threads;
      runner::RunnerOptions ro;
      ro.num_ctx = num_ctx;
      ro.num_parallel = s_.num_parallel;
      ro.num_batch = e->num_batch;
      ro.kv_type = s_.kv_type;
      ro.gpu = s_.gpu && req.num_gpu.value_or(-1) != 0;
      ro.gpu_layers = req.num_gpu.value_or(-1) > 0 ? *req.num_gpu : -1;
      ro.gpu_overhead = s_.gpu_overhead;
      ro.gpu_cpu_device = s_.gpu_cpu_device;
      r = (s_.runner_factory ? s_.runner_factory : runner::EngineRunner::factory())(
          req.path, encoder, lo, ro);
    } catch (const std::exception& ex) {
      err = without_path(ex.what(), req);
    }
    l.lock();
    e->loading = false;
    e->load_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    e->last_used = Clock::now();
    if (!err.empty()) {
      loaded_.erase(req.key);
      cv_.notify_all();
      throw util::Error(err);
    }
    e->runner = r;
    e->size = r->memory_bytes();
    e->refs++;
    LOG_INFO("loaded model name={} ctx={} parallel={} size={} seconds={:.3f}", e->name, num_ctx,
             s_.num_parallel, e->size, e->load_seconds);
    cv_.notify_all();
    auto lease = std::make_unique<Lease>();
    lease->sched_ = this;
    lease->key_ = req.key;
    lease->runner_ = r;
    lease->load_seconds_ = e->load_seconds;
    return lease;
  }
}

void Scheduler::release(const std::string& key) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = loaded_.find(key);
  if (it == loaded_.end()) return;
  auto& e = it->second;
  if (--e->refs > 0) return;
  e->last_used = Clock::now();
  if (e->keep_alive_ns == 0 || e->unload_when_idle) {
    evict_locked(l, key);
  } else if (e->keep_alive_ns != util::kForever) {
    e->expires = Clock::now() + std::chrono::nanoseconds(e->keep_alive_ns);
    e->expires_wall = std::chrono::system_clock::now() + std::chrono::nanoseconds(e->keep_alive_ns);
  }
  cv_.notify_all();
}

bool Scheduler::unload(const std::string& key) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = loaded_.find(key);
  if (it == loaded_.end()) return false;
  if (it->second->refs == 0 && !it->second->loading)
    evict_locked(l, key);
  else
    it->second->unload_when_idle = true;
  cv_.notify_all();
  return true;
}

void Scheduler::expiry_loop() {
  // Sleeps until the first idle model's keep-alive ends; a lease ending (a new expiry), a load
  // or shutdown wakes it through cv_.
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    const auto now = Clock::now();
    std::optional<Clock::time_point> next;
    std::string due;
    for (auto& [k, e] : loaded_) {
      if (e->loading || e->refs > 0 || e->keep_alive_ns == util::kForever) continue;
      if (e->expires <= now) {
        due = k;
        break;
      }
      if (!next || e->expires < *next) next = e->expires;
    }
    if (!due.empty())
      evict_locked(l, due);  // then look again: the lock was let go while it unloaded
    else if (next)
      cv_.wait_until(l, *next);
    else
      cv_.wait(l);
  }
}

std::vector<RunningModel> Scheduler::running() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<RunningModel> out;
  auto now_wall = std::chrono::system_clock::now();
  for (auto& [k, e] : loaded_) {
    if (e->loading && !e->runner) {
      out.push_back({e->name, k, e->details, 0, e->num_ctx,
                     now_wall + std::chrono::nanoseconds(
                                    e->keep_alive_ns == util::kForever ? 0 : e->keep_alive_ns),
                     e->keep_alive_ns == util::kForever});
      continue;
    }
    RunningModel m{
        e->name, k,    e->details, e->size, e->runner ? e->runner->options().num_ctx : e->num_ctx,
        {},      false};
    m.forever = e->keep_alive_ns == util::kForever;
    m.size_vram = e->runner ? e->runner->vram_bytes() : 0;
    if (e->refs > 0)
      m.expires_at = now_wall + std::chrono::nanoseconds(m.forever ? 0 : e->keep_alive_ns);
    else
      m.expires_at = e->expires_wall;
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    if (a.forever != b.forever) return a.forever;
    return a.expires_at > b.expires_at;
  });
  return out;
}

std::vector<Scheduler::ModelStats> Scheduler::model_stats() const {
  std::vector<std::pair<ModelStats, std::shared_ptr<runner::Runner>>> models;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [k, e] : loaded_)
      if (e->runner) models.push_back({{e->name, e->size, {}}, e->runner});
  }
  std::vector<ModelStats> out;
  for (auto& [m, r] : models) {  // outside mu_: a runner's stats take its own lock
    m.runner = r->stats();
    out.push_back(std::move(m));
  }
  return out;
}

int Scheduler::pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return pending_;
}

int Scheduler::loaded_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(loaded_.size());
}

}  // namespace sched
