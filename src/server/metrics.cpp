#include "server/metrics.h"

#include <cstdio>
#include <cstdlib>

namespace server {
namespace {

// Label values: backslash, double quote and line feed escaped (exposition format).
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The shortest text that reads back as the same double.
std::string num(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; precision++) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class T>
void sample(std::string& out, const std::string& name, const std::string& labels, T value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  if constexpr (std::is_floating_point_v<T>)
    out += num(value);
  else
    out += std::to_string(value);
  out += '\n';
}

template <class H, size_t N>
void histogram(std::string& out, const char* name, const char* help,
               const std::map<std::string, H>& by_model, const std::array<double, N>& bounds) {
  family(out, name, "histogram", help);
  for (const auto& [model, h] : by_model) {
    const std::string m = "model=\"" + label(model) + "\"";
    for (size_t i = 0; i < N; i++)
      sample(out, std::string(name) + "_bucket", m + ",le=\"" + bound(bounds[i]) + "\"", h.le[i]);
    sample(out, std::string(name) + "_bucket", m + ",le=\"+Inf\"", h.count);
    sample(out, std::string(name) + "_sum", m, h.sum);
    sample(out, std::string(name) + "_count", m, h.count);
  }
}

}  // namespace

template <size_t N>
void Metrics::Histogram<N>::observe(const std::array<double, N>& bounds, double v) {
  for (size_t i = 0; i < N; i++)
    if (v <= bounds[i]) le[i]++;
  count++;
  sum += v;
}

void Metrics::request(std::string_view method, std::string_view route, int status) {
  std::lock_guard<std::mutex> l(mu_);
  requests_[{std::string(method), std::string(route), status}]++;
}

void Metrics::tokens(const std::string& model, int prompt, int generated) {
  std::lock_guard<std::mutex> l(mu_);
  auto& t = tokens_[model];
  t.first += static_cast<uint64_t>(std::max(prompt, 0));
  t.second += static_cast<uint64_t>(std::max(generated, 0));
}

void Metrics::time_to_first_token(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> l(mu_);
  ttft_[model].observe(kTtftBuckets, seconds);
}

void Metrics::time_per_output_token(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> l(mu_);
  tpot_[model].observe(kTpotBuckets, seconds);
}

std::string Metrics::render(const sched::Scheduler* sched) const {
  std::string out;
  {
    std::lock_guard<std::mutex> l(mu_);
    family(out, "ollama_http_requests_total", "counter",
           "HTTP requests answered, by method, route pattern and status.");
    for (const auto& [key, n] : requests_) {
      const auto& [method, route, status] = key;
      sample(out, "ollama_http_requests_total",
             "method=\"" + label(method) + "\",route=\"" + label(route) + "\",status=\"" +
                 std::to_string(status) + "\"",
             n);
    }
    family(out, "ollama_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
    for (const auto& [model, t] : tokens_)
      sample(out, "ollama_prompt_tokens_total", "model=\"" + label(model) + "\"", t.first);
    family(out, "ollama_generated_tokens_total", "counter", "Tokens generated.");
    for (const auto& [model, t] : tokens_)
      sample(out, "ollama_generated_tokens_total", "model=\"" + label(model) + "\"", t.second);
    histogram(out, "ollama_time_to_first_token_seconds",
              "From a request's arrival to its first generated token (load and prompt included).",
              ttft_, kTtftBuckets);
    histogram(out, "ollama_time_per_output_token_seconds",
              "Time between consecutive generated tokens of a sequence.", tpot_, kTpotBuckets);
  }
  if (!sched) return out;
  const auto models = sched->model_stats();
  int waiting = sched->pending();
  for (const auto& m : models) waiting += m.runner.waiting;
  family(out, "ollama_queue_depth", "gauge",
         "Requests waiting for a model to load, for room to load it, or for a sequence slot.");
  sample(out, "ollama_queue_depth", "", waiting);
  family(out, "ollama_loaded_models", "gauge", "Models loaded in memory.");
  sample(out, "ollama_loaded_models", "", models.size());
  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const sched::Scheduler::ModelStats&);
  };
  static const Gauge kGauges[] = {
      {"ollama_model_memory_bytes", "gauge", "Memory of a loaded model: weights and KV cache.",
       [](const sched::Scheduler::ModelStats& m) { return static_cast<double>(m.size); }},
      {"ollama_active_sequences", "gauge", "Sequences generating or waiting on their prompt.",
       [](const sched::Scheduler::ModelStats& m) { return static_cast<double>(m.runner.active); }},
      {"ollama_sequence_slots", "gauge", "Parallel sequences a loaded model serves (num_parallel).",
       [](const sched::Scheduler::ModelStats& m) { return static_cast<double>(m.runner.slots); }},
      {"ollama_kv_cells_used", "gauge", "KV cache cells holding tokens.",
       [](const sched::Scheduler::ModelStats& m) { return static_cast<double>(m.runner.kv_used); }},
      {"ollama_kv_cells_total", "gauge", "KV cache cells of a loaded model.",
       [](const sched::Scheduler::ModelStats& m) {
         return static_cast<double>(m.runner.kv_total);
       }},
      {"ollama_prefix_cache_hits_total", "counter",
       "Requests that reused a cached prompt prefix (since the model loaded).",
       [](const sched::Scheduler::ModelStats& m) {
         return static_cast<double>(m.runner.prefix_hits);
       }},
      {"ollama_prefix_cache_tokens_total", "counter",
       "Prompt tokens taken from the cache instead of evaluated (since the model loaded).",
       [](const sched::Scheduler::ModelStats& m) {
         return static_cast<double>(m.runner.prefix_tokens);
       }},
  };
  for (const auto& g : kGauges) {
    family(out, g.name, g.type, g.help);
    for (const auto& m : models)
      sample(out, g.name, "model=\"" + label(m.name) + "\"", static_cast<int64_t>(g.get(m)));
  }
  return out;
}

}  // namespace server
