// POST /api/chat (§3.2): load/unload, model SYSTEM and MESSAGE history, templated prompt with
// truncation, streamed reply with thinking and tool calls, OpenAI-style `choices` when not
// streamed.
#include <chrono>
#include <regex>

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

ojson assistant_message(const std::string& content) {
  ojson msg = ojson::object();
  msg["role"] = "assistant";
  msg["content"] = content;
  return msg;
}

prompt::Message to_prompt_message(const api::ChatMessage& a) {
  prompt::Message m;
  m.role = a.role;
  m.content = a.content;
  m.thinking = a.thinking;
  m.images = a.images;
  m.tool_name = a.tool_name;
  m.tool_call_id = a.tool_call_id;
  for (const auto& c : a.tool_calls) {
    prompt::ToolCall t;
    if (c.contains("id") && c["id"].is_string()) t.id = c["id"].get<std::string>();
    const auto& fn = c["function"];
    if (fn.contains("index")) t.index = fn["index"].get<int>();
    if (fn.contains("name")) t.name = fn["name"].get<std::string>();
    if (fn.contains("arguments")) t.arguments = fn["arguments"];
    m.tool_calls.push_back(std::move(t));
  }
  return m;
}

// qwen3 / deepseek-r1: <think> blocks of assistant turns before the last user message are
// dropped from the history (§3.2).
void strip_old_thinking(std::vector<prompt::Message>& msgs, const GenModel& m) {
  bool applies = m.model.config.model_family == "qwen3" ||
                 m.model.short_name.find("deepseek-r1") != std::string::npos;
  if (!applies) return;
  int last_user = -1;
  for (int i = 0; i < static_cast<int>(msgs.size()); ++i)
    if (msgs[i].role == "user") last_user = i;
  static const std::regex kThink("<think>[\\s\\S]*?</think>\\s*");
  for (int i = 0; i < last_user; ++i)
    if (msgs[i].role == "assistant")
      msgs[i].content = std::regex_replace(msgs[i].content, kThink, "");
}

ojson native_chunk(const std::string& model, const GenOutput& out,
                   const runner::CompletionResult* r, const GenJob* job) {
  ojson j = ojson::object();
  j["model"] = model;
  j["created_at"] = now_rfc3339();
  ojson msg = assistant_message(out.content);
  if (!out.thinking.empty()) msg["thinking"] = out.thinking;
  if (!out.tool_calls.empty()) msg["tool_calls"] = tool_calls_json(out.tool_calls);
  j["message"] = msg;
  j["done"] = r != nullptr;
  if (r) {
    j["done_reason"] = r->done_reason;
    put_metrics(j, *job, *r);
  }
  if (!out.logprobs.empty()) j["logprobs"] = out.logprobs;
  return j;
}

// An empty message list loads the model (or unloads it with keep_alive 0).
void load_only(Context& ctx, Call& c, const api::ChatRequest& req) {
  GenModel m = resolve_model(ctx, req.model);
  if (!m.has("completion")) throw util::bad_request("\"" + req.model + "\" does not support chat");
  auto mreq = model_request(m, merge_options(m.model.options, req.options), req.keep_alive_ns);
  const bool unload = req.keep_alive_ns && *req.keep_alive_ns == 0;
  if (unload)
    ctx.scheduler->unload(mreq.key);
  else
    ctx.scheduler->acquire(mreq, current_client().gone_token());
  ojson j = ojson::object();
  j["model"] = req.model;
  j["created_at"] = now_rfc3339();
  j["message"] = assistant_message("");
  j["done"] = true;
  j["done_reason"] = unload ? "unload" : "load";
  write_json(c.res, 200, nlohmann::json::parse(j.dump()));
}

void chat(Context& ctx, Call& c) {
  auto req = api::parse_chat_request(c.body.text());
  if (req.model.empty()) throw util::bad_request("model is required");
  std::string format = format_spec(req.format, c.body.text());
  if (req.messages.empty()) {
    load_only(ctx, c, req);
    return;
  }
  const bool stream = req.stream.value_or(true) && !req.debug_render_only;
  const bool debug = req.debug_render_only;
  const std::string model = req.model;
  GenRun run = prepare_chat(ctx, std::move(req), std::move(format));
  auto make_sink = [model, debug](StreamWriter& w) -> std::shared_ptr<GenSink> {
    return std::make_shared<NativeSink>(
        w, model, debug,
        [model](const GenOutput& out, const runner::CompletionResult* r, const GenJob* job) {
          return native_chunk(model, out, r, job);
        });
  };
  // Not streamed: also an OpenAI-style choices list beside `message` (issue 4).
  auto add_choices = [](ojson& out) {
    if (!out.contains("message")) return;
    std::string reason = out.value("done_reason", "stop");
    if (out["message"].contains("tool_calls") && reason == "stop") reason = "tool_calls";
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["message"] = out["message"];
    choice["finish_reason"] = reason;
    out["choices"] = ojson::array({choice});
  };
  respond_generation(c.res, stream, /*chat=*/true, run, make_sink, add_choices);
}

}  // namespace

GenRun prepare_chat(Context& ctx, api::ChatRequest req, std::string format) {
  auto start = std::chrono::steady_clock::now();
  GenModel m = resolve_model(ctx, req.model);
  if (!m.has("completion")) throw util::bad_request("\"" + req.model + "\" does not support chat");
  api::Options options = merge_options(m.model.options, req.options);
  auto mreq = model_request(m, options, req.keep_alive_ns);
  if (req.messages.empty()) throw util::bad_request("messages are required");
  prompt::Think think = resolve_think(req.think, m);
  if (!req.tools.empty()) m.require("tools");
  std::vector<prompt::Message> msgs;
  for (const auto& mm : m.model.messages) msgs.push_back({.role = mm.role, .content = mm.content});
  for (const auto& a : req.messages) {
    if (!a.images.empty()) m.require("vision");
    msgs.push_back(to_prompt_message(a));
  }
  if (req.messages.front().role != "system" && !m.model.system.empty())
    msgs.insert(msgs.begin(), prompt::Message{.role = "system", .content = m.model.system});
  strip_old_thinking(msgs, m);

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
  ojson tools = req.tools;
  resolve_tool_choice(*job, req.tool_choice, tools);
  GenRun run;
  run.start = [&ctx, job, m = std::move(m), msgs = std::move(msgs), mreq, think, tools,
               truncate = req.truncate, render_only = req.debug_render_only](GenSink& sink) {
    runner::Runner& runner = take_model(ctx, *job, mreq, sink);
    ReleaseUnlessKept release{*job};  // the model goes back on an error or a render-only call
    // Shared: a sink may count tokens up to its finish (the lease keeps the runner).
    auto tokens = std::make_shared<PromptTokens>(runner);
    auto count = [tokens](const std::string& s) { return tokens->count(s); };
    prompt::Json tools_arg = tools_for_prompt(*job, m, tools);
    job->req.prompt = prompt::render_truncated(chat_renderer(m, nullptr, tools_arg, think), msgs,
                                               runner.options().num_ctx, truncate, count);
    job->req.tokens = tokens->of(job->req.prompt);  // the hand-off: tokenized once
    size_t images = 0;
    for (const auto& mm : msgs) images += mm.images.size();
    sink.begin(Rendered{job->req.prompt, images, count});
    if (render_only) return false;
    setup_parsers(*job, m, m.tmpl, think, tools, &msgs.back());
    job->admission = runner.admit(job->req);
    release.keep = true;  // held for the generate step
    return true;
  };
  run.steps = generation_steps(job);
  return run;
}

void add_chat_routes(Router& r, Context& ctx) {
  r.add("POST", "/api/chat", [&ctx](Call& c) { chat(ctx, c); });
}

}  // namespace server
