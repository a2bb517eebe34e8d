// POST /v1/completions (§5.2): the legacy completions API as a typed generate request; the
// typed output becomes text_completion objects.
#include <algorithm>

#include "server/api_sink.h"
#include "server/openai.h"
#include "util/error.h"

namespace server::openai {
namespace {

using nlohmann::json;

// text_completion chunks while streaming, one text_completion at the end otherwise.
class CompletionSink : public ApiSink {
 public:
  struct Params {
    std::string id, model;
    int64_t created = 0;
    bool usage = false;
    int n_logprobs = -1;  // legacy logprobs: alternatives per token, -1 when off
  };
  CompletionSink(StreamWriter* w, Params p) : ApiSink(w), p_(std::move(p)) {}

  bool output(const GenOutput& out) override {
    if (!streaming()) return take(out);
    return emit(sse_data(chunk(out.content, nullptr, legacy_logprobs(out.logprobs))));
  }

  void finish(const GenOutput& rest, const runner::CompletionResult& r, const GenJob&) override {
    result_ = r;
    const std::string reason = r.done_reason == "length" ? "length" : "stop";
    if (!streaming()) {
      take(rest);
      return;
    }
    if (!rest.content.empty())
      emit(sse_data(chunk(rest.content, nullptr, legacy_logprobs(rest.logprobs))));
    emit(sse_data(chunk("", reason)));
    emit(stream_end(p_.usage, envelope(p_.id, "text_completion", p_.created, p_.model), r));
  }

  ojson body() override {
    ojson j = envelope(p_.id, "text_completion", p_.created, p_.model);
    ojson choice = ojson::object();
    choice["text"] = text_;
    choice["index"] = 0;
    choice["finish_reason"] = result_.done_reason == "length" ? "length" : "stop";
    offset_ = 0;
    choice["logprobs"] = legacy_logprobs(logprobs_);
    j["choices"] = ojson::array({choice});
    j["usage"] = usage_json(result_);
    return j;
  }

 private:
  bool take(const GenOutput& out) {
    text_ += out.content;
    for (const auto& e : out.logprobs) logprobs_.push_back(e);
    return true;
  }

  ojson chunk(const std::string& text, const ojson& reason, const ojson& lp = nullptr) const {
    ojson j = envelope(p_.id, "text_completion", p_.created, p_.model);
    ojson choice = ojson::object();
    choice["text"] = text;
    choice["index"] = 0;
    choice["logprobs"] = lp;
    choice["finish_reason"] = reason;
    j["choices"] = ojson::array({choice});
    return j;
  }

  // Native entries -> {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}.
  ojson legacy_logprobs(const ojson& entries) {
    if (p_.n_logprobs < 0 || entries.empty()) return nullptr;
    ojson o = {{"tokens", ojson::array()},
               {"token_logprobs", ojson::array()},
               {"top_logprobs", ojson::array()},
               {"text_offset", ojson::array()}};
    for (const auto& e : entries) {
      const std::string tok = e.value("token", "");
      o["tokens"].push_back(tok);
      o["token_logprobs"].push_back(e.value("logprob", 0.0));
      ojson top = ojson::object();
      if (e.contains("top_logprobs") && e["top_logprobs"].is_array())
        for (const auto& a : e["top_logprobs"]) top[a.value("token", "")] = a.value("logprob", 0.0);
      o["top_logprobs"].push_back(top);
      o["text_offset"].push_back(offset_);
      offset_ += tok.size();
    }
    return o;
  }

  Params p_;
  std::string text_;
  ojson logprobs_ = ojson::array();
  size_t offset_ = 0;
  runner::CompletionResult result_;
};

void completions(Context& ctx, Call& c) {
  const json r = parse_request(c, "completion request");
  if (flag(r, "echo"))
    throw util::bad_request("echo is not supported: the prompt is not repeated in the output");
  if (r.contains("prompt") && !r["prompt"].is_string() && !r["prompt"].is_null())
    throw util::bad_request("invalid type for 'prompt' field: only a string is supported");
  std::string format = response_format(r, c.body.text());
  api::GenerateRequest req;
  req.model = str(r, "model");
  req.prompt = str(r, "prompt");
  req.suffix = str(r, "suffix");
  const bool stream = flag(r, "stream");
  req.stream = stream;
  req.options = sampling_options(r);
  CompletionSink::Params p;
  if (auto it = r.find("logprobs"); it != r.end() && it->is_number_integer()) {
    p.n_logprobs = std::clamp(it->get<int>(), 0, 5);
    req.logprobs = true;
    req.top_logprobs = p.n_logprobs;
  }
  p.id = new_id("cmpl-");
  p.model = req.model;
  p.created = unix_now();
  if (auto it = r.find("stream_options"); it != r.end() && it->is_object())
    p.usage = flag(*it, "include_usage");
  // Nothing to complete: the model loads and the answer is empty, as the native route does.
  GenRun run = req.prompt.empty() ? prepare_load(ctx, req.model, req.options)
                                  : prepare_generate(ctx, std::move(req), std::move(format));
  respond_api(c.res, stream, sse_framing(), run,
              [p](StreamWriter* w) { return std::make_unique<CompletionSink>(w, p); });
}

}  // namespace

void add_completions_routes(Router& r, Context& ctx) {
  r.add("POST", "/v1/completions",
        [&ctx](Call& c) { guarded(c.res, [&] { completions(ctx, c); }); });
}

}  // namespace server::openai
