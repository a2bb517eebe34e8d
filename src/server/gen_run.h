// The typed seam every generating route goes through. A route decodes its wire request into
// api::ChatRequest or api::GenerateRequest (the native ones directly; /v1/chat/completions,
// /v1/completions, /v1/responses and /v1/messages by translation), prepare_* checks it against
// the model (the errors a client gets before any byte is sent), and the returned GenRun drives
// one generation into a GenSink: the route's own translator from typed output to its wire
// format (NDJSON objects, OpenAI chunks, Responses events, Anthropic events).
#pragma once
#include <functional>
#include <string>

#include "api/generate.h"
#include "runner/runner.h"
#include "server/context.h"
#include "server/generation.h"
#include "server/stream.h"

namespace server {

// The prompt of a generation, rendered (templates, truncation) and about to run.
struct Rendered {
  const std::string& prompt;
  size_t images = 0;
  // Tokens of any text in the model's vocabulary (a tokenize; call only when needed). Valid
  // until the sink's finish.
  std::function<int(const std::string&)> count_tokens;
};

// Receives one generation, typed. Called on the generating thread, in this order:
// begin, output*, finish (no finish when the request only renders, or the client went away).
class GenSink {
 public:
  virtual ~GenSink() = default;
  virtual void begin(const Rendered& r) {}
  // Output as it is parsed (never empty). false: stop generating (the client has gone).
  virtual bool output(const GenOutput& out) = 0;
  // The end: what the parser held until then (a tool call, a tail of content), the runner's
  // result (done_reason, stop_sequence, counts) and the job (timings).
  virtual void finish(const GenOutput& rest, const runner::CompletionResult& r,
                      const GenJob& job) = 0;
  virtual bool cancelled() const = 0;
  // What the waits for the model, a slot and each token stop on.
  virtual std::stop_token cancel_token() const = 0;
};

// The native routes' sink: each output, and the end with its metrics, as one object from
// `chunk` (r and job null before the end) sent to `w`; when the request only renders, the
// `_debug_render_only` reply instead.
class NativeSink : public GenSink {
 public:
  using ChunkFn =
      std::function<ojson(const GenOutput&, const runner::CompletionResult* r, const GenJob* job)>;
  NativeSink(StreamWriter& w, std::string model, bool render_only, ChunkFn chunk);
  void begin(const Rendered& r) override;
  bool output(const GenOutput& out) override;
  void finish(const GenOutput& rest, const runner::CompletionResult& r, const GenJob& job) override;
  bool cancelled() const override { return w_.cancelled(); }
  std::stop_token cancel_token() const override { return w_.cancel_token(); }

 private:
  StreamWriter& w_;
  std::string model_;
  bool render_only_;
  ChunkFn chunk_;
};

// A generation checked against its model, run on the connection's thread. start takes the
// model (waiting for its load), renders and tokenizes the prompt, has the runner admit it and
// calls sink.begin; false when there is nothing to generate (the request only renders). steps
// then gives the generation as steps (each one runner chunk into the sink, false once it has
// finished), so a streamed answer commits its status only at its first frame: an error before
// it keeps its status, as Ollama answers. The model goes back when the steps end.
using Step = std::function<bool()>;
struct GenRun {
  std::function<bool(GenSink&)> start;
  std::function<Step(GenSink&)> steps;
  void operator()(GenSink& sink) const {
    if (!start(sink)) return;
    const Step step = steps(sink);
    while (step()) {
    }
  }
};

// The start step's first move for chat and generate: takes the model (waiting for its load
// while `sink`'s client stays), records the load time in `job` and returns the runner.
runner::Runner& take_model(Context& ctx, GenJob& job, const sched::ModelRequest& mreq,
                           GenSink& sink);
// The steps of a started job: its generation pulled chunk by chunk (GenSteps), the model
// given back at their end.
std::function<Step(GenSink&)> generation_steps(std::shared_ptr<GenJob> job);

// Streams `run` as `framing` into the sink `make_sink` builds on the stream's writer, both
// steps on this connection's thread (respond_steps): tokens go from the runner's loop straight
// to the socket.
using MakeGenSink = std::function<std::shared_ptr<GenSink>(StreamWriter&)>;
void stream_run(httplib::Response& res, const Framing& framing, const GenRun& run,
                const MakeGenSink& make_sink);

// A chat with at least one message; `format` as format_spec returns it, already compiled
// once by the translator ("" none). Throws util::Error: 404 unknown model, 400 for what the
// model cannot do (tools, vision, think or chat).
GenRun prepare_chat(Context& ctx, api::ChatRequest req, std::string format);
// A generate request with a prompt or images (the load-only forms are the route's).
GenRun prepare_generate(Context& ctx, api::GenerateRequest req, std::string format);
// Loads the model and ends at once: a finish with done_reason "load" and no output.
GenRun prepare_load(Context& ctx, const std::string& model, const nlohmann::json& options);

}  // namespace server
