// Streaming half of generation.h: runner chunks -> parsed output -> wire chunks.
#include <chrono>
#include <optional>

#include "api/time.h"
#include "server/connections.h"
#include "server/gen_run.h"
#include "server/generation.h"
#include "server/http.h"
#include "server/metrics.h"
#include "util/error.h"
#include "util/log.h"

namespace server {
namespace {

ojson bytes_of(const std::string& s) {
  ojson b = ojson::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

ojson one_logprob(const runner::TokenLogprob& t) {
  ojson j = ojson::object();
  j["token"] = t.token;
  j["logprob"] = t.logprob;
  j["bytes"] = bytes_of(t.token);
  return j;
}

int64_t ns_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

void put_if(ojson& j, const char* k, int64_t v) {
  if (v != 0) j[k] = v;
}

// Concatenates string field `k` of `next` into `acc`.
void concat_str(ojson& acc, const ojson& next, const char* k) {
  if (!next.contains(k)) return;
  std::string s = acc.contains(k) ? acc[k].get<std::string>() : "";
  acc[k] = s + next[k].get<std::string>();
}
void concat_arr(ojson& acc, const ojson& next, const char* k) {
  if (!next.contains(k)) return;
  if (!acc.contains(k)) acc[k] = ojson::array();
  for (const auto& e : next[k]) acc[k].push_back(e);
}

// Folds chunks for stream:false (§2.3).
struct Aggregator : StreamWriter {
  bool chat = false;
  std::optional<ojson> acc;
  ojson text = ojson::object();  // concatenated content/response, thinking, tool_calls
  ojson logprobs = ojson::array();
  ClientWatch client = current_client();

  bool send(const json& obj) override { return send(ojson::parse(obj.dump())); }
  bool send(const ojson& obj) override {
    const ojson& src = chat && obj.contains("message") ? obj["message"] : obj;
    concat_str(text, src, chat ? "content" : "response");
    concat_str(text, src, "thinking");
    concat_arr(text, src, "tool_calls");
    if (obj.contains("logprobs"))
      for (const auto& e : obj["logprobs"]) logprobs.push_back(e);
    acc = obj;
    return true;
  }
  // A client that closed its connection gets no answer: stop generating for it.
  bool cancelled() const override { return client.gone(); }
  std::stop_token cancel_token() const override { return client.gone_token(); }

  ojson result() {
    ojson out = acc ? *acc : ojson::object();
    if (chat && !out.contains("message")) return out;  // _debug_render_only
    ojson& dst = chat ? out["message"] : out;
    for (auto it = text.begin(); it != text.end(); ++it) dst[it.key()] = it.value();
    if (!logprobs.empty()) out["logprobs"] = logprobs;
    return out;
  }
};

}  // namespace

std::string now_rfc3339() { return api::format_rfc3339_nano(api::Timestamp::now_utc()); }

ojson debug_reply(const std::string& model, const std::string& rendered, size_t image_count) {
  ojson j = ojson::object();
  j["model"] = model;
  j["created_at"] = now_rfc3339();
  j["_debug_info"] = {{"rendered_template", rendered}, {"image_count", image_count}};
  return j;
}

ojson logprobs_json(const std::vector<runner::TokenLogprob>& lps) {
  ojson out = ojson::array();
  for (const auto& t : lps) {
    ojson j = one_logprob(t);
    if (!t.top.empty()) {
      ojson top = ojson::array();
      for (const auto& a : t.top) top.push_back(one_logprob(a));
      j["top_logprobs"] = top;
    }
    out.push_back(j);
  }
  return out;
}

ojson tool_calls_json(const std::vector<prompt::ToolCall>& calls) {
  ojson out = ojson::array();
  for (const auto& c : calls) {
    ojson fn = ojson::object();
    fn["index"] = c.index;
    fn["name"] = c.name;
    fn["arguments"] = c.arguments;
    ojson j = ojson::object();
    if (!c.id.empty()) j["id"] = c.id;
    j["function"] = fn;
    out.push_back(j);
  }
  return out;
}

void put_metrics(ojson& j, const GenJob& job, const runner::CompletionResult& r) {
  put_if(j, "total_duration", ns_since(job.start));
  put_if(j, "load_duration", static_cast<int64_t>(job.load_seconds * 1e9));
  put_if(j, "prompt_eval_count", r.prompt_eval_count);
  put_if(j, "prompt_eval_duration", r.prompt_eval_ns);
  put_if(j, "eval_count", r.eval_count);
  put_if(j, "eval_duration", r.eval_ns);
}

runner::Runner& take_model(Context& ctx, GenJob& job, const sched::ModelRequest& mreq,
                           GenSink& sink) {
  job.lease = ctx.scheduler->acquire(mreq, sink.cancel_token());
  job.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - job.start).count();
  return job.lease->runner();
}

std::function<Step(GenSink&)> generation_steps(std::shared_ptr<GenJob> job) {
  return [job](GenSink& sink) -> Step {
    auto steps = std::make_shared<GenSteps>(job, sink);  // gives the model back at its end
    return [steps] { return steps->step(); };
  };
}

GenSteps::GenSteps(std::shared_ptr<GenJob> job, GenSink& sink) : job_(std::move(job)), sink_(sink) {
  runner::Runner& runner = job_->lease->runner();
  runner::Runner::Admission admission =
      job_->admission ? std::move(*job_->admission) : runner.admit(job_->req);
  job_->admission.reset();
  completion_ = runner.start(job_->req, std::move(admission), sink_.cancel_token());
}

GenSteps::~GenSteps() {
  completion_.reset();  // cancels a generation left early; before the model goes back
  job_->lease.reset();
}

void GenSteps::parse(const std::string* text, GenOutput& out) {
  // Raw text -> content / thinking / tool calls; `text` null at the end of generation.
  GenJob& job = *job_;
  if (!job.parser) {
    if (text) out.content = *text;
    return;
  }
  prompt::ParsedOutput p;
  if (text)
    job.parser->add(*text, &p);
  else
    job.parser->finish(&p);
  out.content = std::move(p.content);
  out.thinking = std::move(p.thinking);
  for (auto& c : p.tool_calls) {
    if (c.id.empty()) c.id = prompt::new_tool_call_id();
    out.tool_calls.push_back(std::move(c));
  }
}

void GenSteps::timing() {
  // /metrics: time to the first chunk from the request's arrival, then between chunks (the
  // runner sends one per generated token).
  GenJob& job = *job_;
  if (!job.metrics) return;
  const auto now = std::chrono::steady_clock::now();
  if (last_)
    job.metrics->time_per_output_token(job.model,
                                       std::chrono::duration<double>(now - *last_).count());
  else
    job.metrics->time_to_first_token(job.model,
                                     std::chrono::duration<double>(now - job.start).count());
  last_ = now;
}

bool GenSteps::step() {
  if (done_) return false;
  runner::CompletionChunk ch;
  if (completion_->next(ch)) {
    timing();
    GenOutput out;
    parse(&ch.text, out);
    if (!ch.logprobs.empty()) out.logprobs = logprobs_json(ch.logprobs);
    if (sink_.cancelled() || (!out.empty() && !sink_.output(out))) completion_->cancel();
    return true;
  }
  done_ = true;
  const runner::CompletionResult& result = completion_->result();
  GenJob& job = *job_;
  if (job.metrics) job.metrics->tokens(job.model, result.prompt_eval_count, result.eval_count);
  if (sink_.cancelled()) {
    LOG_DEBUG("generation stopped: client disconnected");
    return false;
  }
  // What the parser held until the end (a tool call, leftover content) rides on the final
  // chunk, as Ollama sends it.
  GenOutput rest;
  parse(nullptr, rest);
  sink_.finish(rest, result, job);
  return false;
}

void run_generation(std::shared_ptr<GenJob> job, GenSink& sink) {
  GenSteps steps(std::move(job), sink);
  while (steps.step()) {
  }
}

NativeSink::NativeSink(StreamWriter& w, std::string model, bool render_only, ChunkFn chunk)
    : w_(w), model_(std::move(model)), render_only_(render_only), chunk_(std::move(chunk)) {}

void NativeSink::begin(const Rendered& r) {
  if (render_only_) w_.send(debug_reply(model_, r.prompt, r.images));
}

bool NativeSink::output(const GenOutput& out) { return w_.send(chunk_(out, nullptr, nullptr)); }

void NativeSink::finish(const GenOutput& rest, const runner::CompletionResult& r,
                        const GenJob& job) {
  w_.send(chunk_(rest, &r, &job));
}

void stream_run(httplib::Response& res, const Framing& framing, const GenRun& run,
                const MakeGenSink& make_sink) {
  auto w = std::make_shared<DirectWriter>();
  std::shared_ptr<GenSink> sink = make_sink(*w);
  respond_steps(
      res, framing, w, [run, sink] { return run.start(*sink); },
      [run, sink]() -> Step {
        Step step = run.steps(*sink);
        return [sink, step] { return step(); };  // the steps write to the sink
      });
}

void respond_generation(httplib::Response& res, bool stream, bool chat, const GenRun& run,
                        const MakeGenSink& make_sink, const std::function<void(ojson&)>& finalize) {
  if (stream) {
    stream_run(res, Framing{}, run, make_sink);
    return;
  }
  Aggregator agg;
  agg.chat = chat;
  try {
    std::shared_ptr<GenSink> sink = make_sink(agg);
    run(*sink);
  } catch (const std::exception& e) {
    ErrorReply r = error_reply(e);
    write_error(res, r.status, r.message);
    return;
  }
  ojson out = agg.result();
  if (finalize) finalize(out);
  res.status = 200;
  res.set_content(out.dump(-1, ' ', false, ojson::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

}  // namespace server
