// Route handlers against a scripted runner: the real HTTP server, store, templates and scheduler
// on a loopback port, with the scheduler's RunnerFactory making a runner::Runner written here
// (as Ollama's own server tests use a mock llama server). The model's output is fixed, so each
// test asserts what an API makes of it: NDJSON and SSE frames, done reasons, usage counts, the
// prompt the template rendered, embeddings, and errors raised by the runner.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "create/create.h"
#include "server/context.h"
#include "server/running_models.h"
#include "server/server.h"
#include "util/error.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What the scripted model says, and what it was asked.
struct Script {
  std::vector<std::string> pieces{"Hello", ",", " world"};
  std::string done_reason = "stop";
  std::string fail_with;  // non-empty: next() throws util::Error(fail_with, fail_kind)
  util::ErrorKind fail_kind = util::ErrorKind::kInternal;
  std::mutex mu;
  std::string last_prompt;  // the rendered prompt of the last completion
  runner::CompletionRequest last_request;
  std::atomic<int> loads{0};
};

class ScriptedCompletion : public runner::Completion {
 public:
  ScriptedCompletion(Script& s, int prompt_tokens) : s_(s) {
    result_.prompt_eval_count = prompt_tokens;
    result_.prompt_eval_ns = 1000;
  }
  bool next(runner::CompletionChunk& out) override {
    if (!s_.fail_with.empty()) throw util::Error(s_.fail_with, s_.fail_kind);
    if (cancelled_ || i_ >= s_.pieces.size()) {
      result_.done_reason = s_.done_reason;
      result_.eval_count = static_cast<int>(i_);
      result_.eval_ns = 2000;
      return false;
    }
    out = runner::CompletionChunk{s_.pieces[i_++], {}};
    return true;
  }
  const runner::CompletionResult& result() const override { return result_; }
  void cancel() override { cancelled_ = true; }

 private:
  Script& s_;
  size_t i_ = 0;
  bool cancelled_ = false;
  runner::CompletionResult result_;
};

// One token per byte; embeddings are [length, first byte, 0].
class ScriptedRunner : public runner::Runner {
 public:
  ScriptedRunner(Script& s, runner::RunnerOptions o) : s_(s), opts_(o) {}
  Admission admit(const runner::CompletionRequest& req) override {
    Admission a;
    a.prompt = req.tokens.empty() ? tokenize(req.prompt) : req.tokens;
    if (static_cast<int>(a.prompt.size()) > opts_.num_ctx)
      throw util::bad_request("the input length exceeds the context length");
    return a;
  }
  std::unique_ptr<runner::Completion> start(const runner::CompletionRequest& req, Admission a,
                                            std::stop_token) override {
    std::lock_guard<std::mutex> l(s_.mu);
    s_.last_prompt = detokenize(a.prompt);
    s_.last_request = req;
    return std::make_unique<ScriptedCompletion>(s_, static_cast<int>(a.prompt.size()));
  }
  std::vector<int32_t> tokenize(const std::string& text) const override {
    return {text.begin(), text.end()};
  }
  std::string detokenize(const std::vector<int32_t>& ids) const override {
    return {ids.begin(), ids.end()};
  }
  int32_t vocab_size() const override { return 256; }
  bool can_embed() const override { return true; }
  bool embedding_only() const override { return false; }
  bool reranks() const override { return false; }
  std::vector<int32_t> embed_tokens(const std::string& text, bool) const override {
    return tokenize(text);
  }
  std::vector<int32_t> pair_tokens(const std::string&, const std::string&, bool) const override {
    throw util::bad_request("not a reranker");
  }
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& b) override {
    std::vector<std::vector<float>> out;
    for (const auto& ids : b)
      out.push_back({static_cast<float>(ids.size()), ids.empty() ? 0.0f : float(ids[0]), 0.0f});
    return out;
  }
  const runner::RunnerOptions& options() const override { return opts_; }
  size_t memory_bytes() const override { return 1 << 20; }
  Stats stats() override { return {}; }

 private:
  Script& s_;
  runner::RunnerOptions opts_;
};

// The server on an ephemeral loopback port with one model, "story", made from stories260K (a
// real GGUF: the card, template and capabilities are the real ones; only the runner is not).
class Handlers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "handler-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ctx_.config.home_dir = root_.string();
    ctx_.config.models_dir = (root_ / "models").string();
    ctx_.store = std::make_unique<store::Store>(ctx_.config.models_dir);
    make_model();
    sched::Settings s;
    s.runner_factory = [this](const std::string&, bool, const engine::LoadOptions&,
                              const runner::RunnerOptions& o) {
      script_.loads++;
      return std::make_shared<ScriptedRunner>(script_, o);
    };
    ctx_.scheduler = std::make_unique<sched::Scheduler>(s);
    ctx_.running = std::make_unique<server::SchedulerRunningModels>(*ctx_.scheduler);
    ctx_.cors = std::make_unique<server::CorsPolicy>(std::vector<std::string>{});
    http_ = std::make_unique<server::HttpServer>(ctx_);
    port_ = http_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { http_->run(); });
  }
  void TearDown() override {
    http_->stop();
    thread_.join();
    http_.reset();
    ctx_.scheduler.reset();
    fs::remove_all(root_);
  }

  void make_model() {
    const std::string digest = ctx_.store->write_blob_from_file(fs::path(OLLAMA_SHARED_DIR) /
                                                                "testdata/real/stories260K.gguf");
    create::CreateRequest r;
    r.model = "story";
    r.files = {{"stories260K.gguf", digest}};
    r.template_text =
        "{{- range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}{{ if .Prompt }}<p>{{ .Prompt "
        "}}{{ end }}";
    create::create_model(*ctx_.store, r, [](const create::Progress&) {});
  }

  httplib::Result post(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c.Post(path, body.dump(), "application/json");
  }
  static std::vector<json> lines(const std::string& body) {
    std::vector<json> out;
    std::istringstream in(body);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(json::parse(l));
    return out;
  }
  static std::vector<json> sse(const std::string& body) {
    std::vector<json> out;
    std::istringstream in(body);
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("data: ", 0) == 0 && l != "data: [DONE]") out.push_back(json::parse(l.substr(6)));
    }
    return out;
  }

  fs::path root_;
  server::Context ctx_;
  Script script_;
  std::unique_ptr<server::HttpServer> http_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(Handlers, GenerateStreamsEachPieceThenTheCounts) {
  auto r = post("/api/generate", {{"model", "story"}, {"prompt", "Hi"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto f = lines(r->body);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0]["response"], "Hello");
  EXPECT_EQ(f[1]["response"], ",");
  EXPECT_EQ(f[2]["response"], " world");
  EXPECT_FALSE(f[2]["done"].get<bool>());
  EXPECT_TRUE(f[3]["done"].get<bool>());
  EXPECT_EQ(f[3]["done_reason"], "stop");
  EXPECT_EQ(f[3]["eval_count"], 3);
  EXPECT_EQ(f[3]["prompt_eval_count"], static_cast<int>(script_.last_prompt.size()));
  // A template over .Messages gets the prompt as one user message, as Ollama renders it.
  EXPECT_EQ(script_.last_prompt, "<user>Hi");
  EXPECT_EQ(script_.loads.load(), 1);
}

TEST_F(Handlers, GenerateWholeAnswerAndOptionsReachTheRunner) {
  script_.done_reason = "length";
  auto r = post("/api/generate", {{"model", "story"},
                                  {"prompt", "Hi"},
                                  {"stream", false},
                                  {"options", {{"num_predict", 3}, {"stop", {"END"}}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["response"], "Hello, world");
  EXPECT_EQ(j["done_reason"], "length");
  std::lock_guard<std::mutex> l(script_.mu);
  EXPECT_EQ(script_.last_request.num_predict, 3);
  EXPECT_EQ(script_.last_request.stop, std::vector<std::string>{"END"});
}

TEST_F(Handlers, ChatRendersTheTemplateAndAnswersAsAssistant) {
  auto r = post("/api/chat", {{"model", "story"},
                              {"stream", false},
                              {"messages", {{{"role", "user"}, {"content", "Once"}}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["message"]["role"], "assistant");
  EXPECT_EQ(j["message"]["content"], "Hello, world");
  EXPECT_EQ(j["eval_count"], 3);
  EXPECT_EQ(script_.last_prompt, "<user>Once");
}

TEST_F(Handlers, ARunnerErrorBeforeTheFirstFrameKeepsItsStatus) {
  script_.fail_with = "the model is busy";
  script_.fail_kind = util::ErrorKind::kUnavailable;
  auto r =
      post("/api/chat", {{"model", "story"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json::parse(r->body)["error"], "the model is busy");
}

TEST_F(Handlers, EmbedReturnsTheRunnersVectorsNormalized) {
  auto r = post("/api/embed", {{"model", "story"}, {"input", {"ab", "c"}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["embeddings"].size(), 2u);
  // [2, 'a', 0] and [1, 'c', 0], L2-normalized.
  const double n0 = std::sqrt(4.0 + 97.0 * 97.0), n1 = std::sqrt(1.0 + 99.0 * 99.0);
  EXPECT_NEAR(j["embeddings"][0][0].get<double>(), 2.0 / n0, 1e-6);
  EXPECT_NEAR(j["embeddings"][1][1].get<double>(), 99.0 / n1, 1e-6);
  EXPECT_EQ(j["prompt_eval_count"], 3);
}

TEST_F(Handlers, OpenAiChatCompletionWholeAndStreamed) {
  auto r = post("/v1/chat/completions",
                {{"model", "story"}, {"messages", {{{"role", "user"}, {"content", "Once"}}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello, world");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);

  auto s = post("/v1/chat/completions", {{"model", "story"},
                                         {"stream", true},
                                         {"messages", {{{"role", "user"}, {"content", "Once"}}}}});
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200);
  std::string text;
  std::string finish;
  for (const json& c : sse(s->body)) {
    const json& ch = c["choices"][0];
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (ch["finish_reason"].is_string()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(text, "Hello, world");
  EXPECT_EQ(finish, "stop");
  EXPECT_NE(s->body.find("data: [DONE]"), std::string::npos);
}

TEST_F(Handlers, OpenAiCompletionAndEmbeddings) {
  script_.done_reason = "length";
  auto r = post("/v1/completions", {{"model", "story"}, {"prompt", "Hi"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["text"], "Hello, world");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");

  auto e = post("/v1/embeddings", {{"model", "story"}, {"input", "ab"}});
  ASSERT_TRUE(e);
  ASSERT_EQ(e->status, 200) << e->body;
  const json ej = json::parse(e->body);
  ASSERT_EQ(ej["data"].size(), 1u);
  EXPECT_EQ(ej["data"][0]["embedding"].size(), 3u);
  EXPECT_EQ(ej["usage"]["prompt_tokens"], 2);
}

TEST_F(Handlers, UnknownModelIsA404InEachApisShape) {
  auto n = post("/api/generate", {{"model", "nope"}, {"prompt", "x"}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 404);
  EXPECT_TRUE(json::parse(n->body)["error"].is_string());
  auto o = post("/v1/chat/completions",
                {{"model", "nope"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, 404);
  EXPECT_TRUE(json::parse(o->body)["error"]["message"].is_string());
  EXPECT_EQ(script_.loads.load(), 0);
}

}  // namespace
