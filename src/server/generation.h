// Shared by /api/generate and /api/chat: model resolution and capability checks, options,
// prompt templates (§7.1), the runner request, streaming chunks with thinking / tool-call
// parsing (§11), logprobs (§3.12b), metrics and stream:false aggregation (§2.3).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/generate.h"
#include "api/options.h"
#include "engine/card.h"
#include "prompt/chat.h"
#include "prompt/harmony.h"
#include "prompt/parsers.h"
#include "runner/runner.h"
#include "sched/scheduler.h"
#include "server/context.h"
#include "server/stream.h"
#include "store/model.h"

namespace server {

class Metrics;  // metrics.h

using ojson = nlohmann::ordered_json;

// Effective options: the model's params layer <- the request's options, each checked
// against the option table (api::Options::parse: 400 for a wrong type).
api::Options merge_options(const nlohmann::ordered_json& model_params,
                           const nlohmann::json& request_options);

// Options -> sampler settings, and the rest of the runner request (unset: the defaults).
runner::CompletionRequest completion_request(const api::Options& options);

// A model resolved for generation.
struct GenModel {
  store::Model model;
  std::shared_ptr<const engine::ModelCard> card;  // null for a model without weights
  std::string request_name;                       // as the client wrote it (error messages)
  std::string full_name;  // registry.ollama.ai/library/x:latest (capability errors)
  std::vector<std::string> capabilities;
  prompt::Template tmpl;
  std::string template_text;
  std::vector<std::string> template_stop;  // stop list of a built-in template
  // gpt-oss's harmony format (§11.3, harmony_use in show.h): chat prompts from the harmony
  // renderer instead of the template; output through the harmony parser.
  bool harmony_render = false;
  bool harmony_parse = false;

  bool has(const std::string& cap) const;
  // 400 `<full name> does not support <cap>`.
  void require(const std::string& cap) const;
};

// Resolves and loads the model's store data (404 `model '<name>' not found`, 400
// `invalid model name`), its capabilities and its prompt template (§7.1).
GenModel resolve_model(Context& ctx, const std::string& name);

// The chat prompt builder (§7.1): `custom` (a request's own template) when given, else the
// harmony renderer for a harmony model, else the model's template; `tools` as the prompt shows
// them (tools_for_prompt).
prompt::RenderFn chat_renderer(const GenModel& m, const prompt::Template* custom,
                               const prompt::Json& tools, const prompt::Think& think);

// The model request for the scheduler (num_ctx/num_batch/num_thread from the options).
sched::ModelRequest model_request(const GenModel& m, const api::Options& options,
                                  std::optional<int64_t> keep_alive_ns);

// Resolves `think` against the model (§11.5): default on for thinking models, 400 when asked
// of a model without the capability; harmony knows no "max": it becomes "high". Returns the
// template's view of it.
prompt::Think resolve_think(const api::ThinkValue& t, const GenModel& m);

// The request's `format` for the runner: "" (none: absent, null, ""), "json", or the schema
// as JSON text in the order the body has it (read again from `body`). 400 for anything else
// and for a schema the engine cannot compile.
std::string format_spec(const nlohmann::json& format, std::string_view body);

// Output of one generation, streamed as chunks.
struct GenOutput {
  std::string content, thinking;
  std::vector<prompt::ToolCall> tool_calls;
  ojson logprobs = ojson::array();
  bool empty() const {
    return content.empty() && thinking.empty() && tool_calls.empty() && logprobs.empty();
  }
};

// Everything needed to run one completion and stream it.
struct GenJob {
  std::chrono::steady_clock::time_point start;  // request arrival
  std::unique_ptr<sched::Lease> lease;
  double load_seconds = 0;  // arrival -> runner ready
  runner::CompletionRequest req;
  prompt::HarmonyToolNames harmony_names;        // client tool names <-> the prompt's
  std::unique_ptr<prompt::OutputParser> parser;  // null: the output is all content
  // tool_choice "required" or one function: the names the output must call (one of), set by
  // resolve_tool_choice; setup_parsers turns them into a format in the template's syntax.
  std::vector<std::string> forced_tools;
  std::string model;           // the model's name, for /metrics
  Metrics* metrics = nullptr;  // null: nothing recorded
  // Set by the start step: the prompt the runner admitted (run_generation runs it).
  std::optional<runner::Runner::Admission> admission;
};

class GenSink;  // gen_run.h
struct GenRun;

// The request's tools (null when none) as the prompt shows them: harmony models get
// identifier-safe names, recorded in job.harmony_names for the parser to map back.
prompt::Json tools_for_prompt(GenJob& job, const GenModel& m, const ojson& tools);

// Applies a chat request's tool_choice: "auto"/null nothing; "none" empties `tools` (no call
// can be made); "required" or a named function fills job.forced_tools. 400 for an unknown
// value or function, or for tool_choice with a format.
void resolve_tool_choice(GenJob& job, const ojson& tool_choice, ojson& tools);

// After job.req.prompt is set, job.parser: for a harmony model the harmony parser (continuing
// an assistant prefill in `last`, the request's last message; the runner keeps harmony's
// markers in the text); otherwise the thinking parser when `think` is on and the template has
// tags (§11.1, pre-opened when the prompt ends with the opening tag) and the tool-call parser
// when the request has tools (§11.2).
void setup_parsers(GenJob& job, const GenModel& m, const prompt::Template& tmpl,
                   const prompt::Think& think, const ojson& tools,
                   const prompt::Message* last = nullptr);

// Tokens of prompt texts for one request: truncation counts the rendered prompt, and the text
// finally sent is usually the one counted last, so its tokens are the runner's input and the
// prompt is tokenized once.
class PromptTokens {
 public:
  explicit PromptTokens(runner::Runner& r) : runner_(r) {}
  const std::vector<int32_t>& of(const std::string& text);
  int count(const std::string& text) { return static_cast<int>(of(text).size()); }

 private:
  runner::Runner& runner_;
  std::string text_;
  std::vector<int32_t> tokens_;
  bool have_ = false;
};

// Ends the job's lease when the producer leaves (normally or by an exception).
struct LeaseGuard {
  GenJob& job;
  ~LeaseGuard() { job.lease.reset(); }
};
// The start step's guard: ends the lease unless the step hands it to the generate step.
struct ReleaseUnlessKept {
  GenJob& job;
  bool keep = false;
  ~ReleaseUnlessKept() {
    if (!keep) job.lease.reset();
  }
};

// One generation pulled chunk by chunk into `sink`, on the caller's thread: each step takes the
// runner's next chunk, parses it (thinking, tool calls) and hands it to the sink; the last
// step calls sink.finish with what the parser held until the end (e.g. harmony's tool call).
// A client that has gone stops it (the runner's slot is freed within one engine step).
// Destroying it early cancels the generation; the job's lease ends with it.
class GenSteps {
 public:
  GenSteps(std::shared_ptr<GenJob> job, GenSink& sink);  // starts the generation
  ~GenSteps();
  GenSteps(const GenSteps&) = delete;
  GenSteps& operator=(const GenSteps&) = delete;
  // false once finished (sink.finish called) or stopped; throws the generation's error.
  bool step();

 private:
  void parse(const std::string* text, GenOutput& out);
  void timing();
  std::shared_ptr<GenJob> job_;
  GenSink& sink_;
  std::unique_ptr<runner::Completion> completion_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  bool done_ = false;
};

// All the steps in a row.
void run_generation(std::shared_ptr<GenJob> job, GenSink& sink);

// Metric fields of a final chunk (omitempty).
void put_metrics(ojson& j, const GenJob& job, const runner::CompletionResult& r);
ojson logprobs_json(const std::vector<runner::TokenLogprob>& lps);
ojson tool_calls_json(const std::vector<prompt::ToolCall>& calls);
std::string now_rfc3339();
// `_debug_render_only` answer: {model, created_at, _debug_info{rendered_template, image_count}}.
ojson debug_reply(const std::string& model, const std::string& rendered, size_t image_count);

// Answers a native generation: NDJSON streamed (stream_run), else one object folding all
// chunks (content/response, thinking, tool_calls, logprobs concatenated; the message for chat).
// `finalize` may add fields to that object (chat's `choices`).
void respond_generation(httplib::Response& res, bool stream, bool chat, const GenRun& run,
                        const std::function<std::shared_ptr<GenSink>(StreamWriter&)>& make_sink,
                        const std::function<void(ojson&)>& finalize = nullptr);

}  // namespace server
