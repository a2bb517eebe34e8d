// POST /api/generate (§3.1): load/unload, raw/templated/suffix prompts, streamed completion.
#include <chrono>

#include "api/generate.h"
#include "engine/sample/json_schema.h"
#include "server/connections.h"
#include "server/context.h"
#include "server/gen_run.h"
#include "server/generation.h"
#include "server/http.h"
#include "util/error.h"

namespace server {
namespace {

ojson load_reply(const std::string& model, const char* reason) {
  ojson j = ojson::object();
  j["model"] = model;
  j["created_at"] = now_rfc3339();
  j["response"] = "";
  j["done"] = true;
  j["done_reason"] = reason;
  return j;
}

void write_ojson(httplib::Response& res, const ojson& j) {
  res.status = 200;
  res.set_content(j.dump(-1, ' ', false, ojson::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

// The prompt for a templated (non-raw) request; `custom` is the request's own template.
std::string build_prompt(const api::GenerateRequest& req, const prompt::Template& tmpl,
                         const prompt::Template* custom, const GenModel& m,
                         const prompt::Think& think, runner::Runner& runner, PromptTokens& tokens) {
  if (!req.suffix.empty()) {
    // Fill-in-middle: the template gets Prompt, Suffix and an empty Response only.
    prompt::Json data = prompt::Json::object();
    data["Prompt"] = req.prompt;
    data["Suffix"] = req.suffix;
    data["Response"] = "";
    data["Think"] = think.enabled;
    data["ThinkLevel"] = think.level;
    data["IsThinkSet"] = think.set;
    return tmpl.execute(data);
  }
  std::vector<prompt::Message> msgs;
  std::string system = req.system.empty() ? m.model.system : req.system;
  if (!system.empty()) msgs.push_back({.role = "system", .content = system});
  if (req.context.empty())
    for (const auto& mm : m.model.messages)
      msgs.push_back({.role = mm.role, .content = mm.content});
  prompt::Message user{.role = "user", .content = req.prompt};
  user.images = req.images;
  msgs.push_back(std::move(user));
  int num_ctx = runner.options().num_ctx;
  auto count = [&tokens](const std::string& s) { return tokens.count(s); };
  std::string p = prompt::render_truncated(chat_renderer(m, custom, nullptr, think), msgs, num_ctx,
                                           req.truncate, count);
  if (!req.context.empty()) p = runner.detokenize(req.context) + p;
  return p;
}

ojson native_chunk(const std::string& model, bool raw, const GenOutput& out,
                   const runner::CompletionResult* r, const GenJob* job) {
  ojson j = ojson::object();
  j["model"] = model;
  j["created_at"] = now_rfc3339();
  j["response"] = out.content;
  if (!out.thinking.empty()) j["thinking"] = out.thinking;
  j["done"] = r != nullptr;
  if (r) {
    j["done_reason"] = r->done_reason;
    if (!raw && !r->context.empty()) j["context"] = r->context;
    put_metrics(j, *job, *r);
  }
  if (!out.tool_calls.empty()) j["tool_calls"] = tool_calls_json(out.tool_calls);
  if (!out.logprobs.empty()) j["logprobs"] = out.logprobs;
  return j;
}

void generate(Context& ctx, Call& c) {
  auto req = api::parse_generate_request(c.body.text());
  if (req.model.empty()) throw util::not_found("model '' not found");
  std::string format = format_spec(req.format, c.body.text());
  if (req.prompt.empty() && req.images.empty()) {
    GenModel m = resolve_model(ctx, req.model);
    if (req.raw && (!req.template_text.empty() || !req.system.empty() || !req.context.empty()))
      throw util::bad_request("raw mode does not support template, system, or context");
    if (!m.has("completion"))
      throw util::bad_request("\"" + req.model + "\" does not support generate");
    auto mreq = model_request(m, merge_options(m.model.options, req.options), req.keep_alive_ns);
    if (req.keep_alive_ns && *req.keep_alive_ns == 0) {
      ctx.scheduler->unload(mreq.key);
      write_ojson(c.res, load_reply(req.model, "unload"));
      return;
    }
    ctx.scheduler->acquire(mreq, current_client().gone_token());
    write_ojson(c.res, load_reply(req.model, "load"));
    return;
  }
  const bool stream = req.stream.value_or(true) && !req.debug_render_only;
  const bool debug = req.debug_render_only, raw = req.raw;
  const std::string model = req.model;
  GenRun run = prepare_generate(ctx, std::move(req), std::move(format));
  auto make_sink = [model, debug, raw](StreamWriter& w) -> std::shared_ptr<GenSink> {
    return std::make_shared<NativeSink>(
        w, model, debug,
        [model, raw](const GenOutput& out, const runner::CompletionResult* r, const GenJob* job) {
          return native_chunk(model, raw, out, r, job);
        });
  };
  respond_generation(c.res, stream, /*chat=*/false, run, make_sink);
}

}  // namespace

GenRun prepare_generate(Context& ctx, api::GenerateRequest req, std::string format) {
  auto start = std::chrono::steady_clock::now();
  GenModel m = resolve_model(ctx, req.model);
  if (req.raw && (!req.template_text.empty() || !req.system.empty() || !req.context.empty()))
    throw util::bad_request("raw mode does not support template, system, or context");
  if (!m.has("completion"))
    throw util::bad_request("\"" + req.model + "\" does not support generate");
  api::Options options = merge_options(m.model.options, req.options);
  auto mreq = model_request(m, options, req.keep_alive_ns);
  prompt::Think think = resolve_think(req.think, m);
  if (!req.suffix.empty()) m.require("insert");
  if (!req.images.empty()) m.require("vision");

  auto job = std::make_shared<GenJob>();
  job->start = start;
  job->model = m.model.short_name;
  job->metrics = ctx.metrics.get();
  job->req = completion_request(options);
  if (!format.empty()) job->req.format = engine::sample::FormatSpec::of(format);
  if (job->req.stop.empty()) job->req.stop = m.template_stop;
  job->req.shift = req.shift;
  job->req.truncate = req.truncate;
  job->req.logprobs = req.logprobs || req.top_logprobs > 0;
  job->req.top_logprobs = req.top_logprobs;
  GenRun run;
  run.start = [&ctx, job, m = std::move(m), req = std::move(req), mreq, think](GenSink& sink) {
    runner::Runner& runner = take_model(ctx, *job, mreq, sink);
    ReleaseUnlessKept release{*job};  // the model goes back on an error or a render-only call
    const bool custom = !req.template_text.empty();
    prompt::Template tmpl = custom ? prompt::load_template(req.template_text) : m.tmpl;
    // Shared: a sink may count tokens up to its finish (the lease keeps the runner).
    auto tokens = std::make_shared<PromptTokens>(runner);
    job->req.prompt =
        req.raw ? req.prompt
                : build_prompt(req, tmpl, custom ? &tmpl : nullptr, m, think, runner, *tokens);
    job->req.tokens = tokens->of(job->req.prompt);  // the hand-off: tokenized once
    auto count = [tokens](const std::string& s) { return tokens->count(s); };
    sink.begin(Rendered{job->req.prompt, req.images.size(), count});
    if (req.debug_render_only) return false;
    if (!req.raw) setup_parsers(*job, m, tmpl, think, nullptr);
    job->admission = runner.admit(job->req);
    release.keep = true;  // held for the generate step
    return true;
  };
  run.steps = generation_steps(job);
  return run;
}

GenRun prepare_load(Context& ctx, const std::string& model, const nlohmann::json& options) {
  auto start = std::chrono::steady_clock::now();
  GenModel m = resolve_model(ctx, model);
  if (!m.has("completion")) throw util::bad_request("\"" + model + "\" does not support generate");
  auto mreq = model_request(m, merge_options(m.model.options, options), std::nullopt);
  auto job = std::make_shared<GenJob>();
  job->start = start;
  GenRun run;
  run.start = [&ctx, mreq, job](GenSink& sink) {
    job->lease = ctx.scheduler->acquire(mreq, sink.cancel_token());
    return true;
  };
  run.steps = [job](GenSink& sink) -> Step {
    return [job, &sink] {
      LeaseGuard release{*job};
      runner::CompletionResult r;
      r.done_reason = "load";
      sink.finish(GenOutput{}, r, *job);
      return false;
    };
  };
  return run;
}

void add_generate_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/generate", [&ctx](Call& c) { generate(ctx, c); });
}

}  // namespace server
