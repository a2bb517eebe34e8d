// The runner on a real trained model (stories260K): golden greedy text through continuous
// batching, concurrency, stop strings, limits, cancellation, context shift, prompt cache.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>

#include "api/status.h"
#include "runner/engine_runner.h"
#include "runner/stop.h"
#include "util/error.h"

using runner::CompletionRequest;
using Runner = runner::EngineRunner;

namespace {

const std::string kModel = std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";

nlohmann::json golden() {
  std::ifstream in(std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.expected.json");
  return nlohmann::json::parse(in);
}

std::unique_ptr<Runner> make_runner(int parallel = 1, int num_ctx = 256) {
  engine::LoadOptions lo;
  lo.n_threads = 2;
  runner::RunnerOptions ro;
  ro.num_parallel = parallel;
  ro.num_ctx = num_ctx;
  ro.num_batch = 64;
  return std::make_unique<Runner>(engine::Model::load(kModel, lo), ro);
}

CompletionRequest greedy(const std::string& prompt, int n) {
  CompletionRequest r;
  r.prompt = prompt;
  r.sampling.temperature = 0;
  r.num_predict = n;
  return r;
}

struct Out {
  std::string text;
  runner::CompletionResult result;
};

Out run(Runner& r, const CompletionRequest& req) {
  Out o;
  o.result = r.complete(req, [&](const runner::CompletionChunk& c) {
    o.text += c.text;
    return true;
  });
  return o;
}

}  // namespace

TEST(Runner, PromptedGreedyMatchesGolden) {
  auto r = make_runner();
  const nlohmann::json cases = golden()["prompted_greedy"];
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& g : cases) {
    std::string prompt = g["prompt"];
    auto ids = g["prompt_token_ids"].get<std::vector<int32_t>>();
    auto gen = g["greedy_generated_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(r->tokenize(prompt), ids);
    Out o = run(*r, greedy(prompt, static_cast<int>(gen.size())));
    std::vector<int32_t> expect = ids;
    expect.insert(expect.end(), gen.begin(), gen.end());
    EXPECT_EQ(o.result.context, expect) << prompt;
    EXPECT_EQ(prompt + o.text, g["full_text"].get<std::string>());
    EXPECT_EQ(o.result.done_reason, "length");
    EXPECT_EQ(o.result.eval_count, static_cast<int>(gen.size()));
    EXPECT_EQ(o.result.prompt_eval_count, static_cast<int>(ids.size()));
    EXPECT_GT(o.result.prompt_eval_ns, 0);
    EXPECT_GT(o.result.eval_ns, 0);
  }
}

TEST(Runner, ConcurrentSequencesAreIndependent) {
  auto r = make_runner(4);
  auto g = golden()["prompted_greedy"];
  std::vector<std::future<Out>> futs;
  for (int i = 0; i < 6; i++) {
    const auto& c = g[i % 2];
    int n = static_cast<int>(c["greedy_generated_ids"].size());
    futs.push_back(
        std::async(std::launch::async, [&r, c, n] { return run(*r, greedy(c["prompt"], n)); }));
  }
  for (int i = 0; i < 6; i++) {
    Out o = futs[i].get();
    EXPECT_EQ(g[i % 2]["prompt"].get<std::string>() + o.text,
              g[i % 2]["full_text"].get<std::string>())
        << i;
  }
}

TEST(Runner, StopSequenceIsNotEmittedEvenWhenSplit) {
  auto r = make_runner();
  CompletionRequest req = greedy("Once upon a time", 60);
  req.stop = {"little girl"};  // spans several tokens
  Out o = run(*r, req);
  EXPECT_EQ(o.text, ", there was a ");
  EXPECT_EQ(o.result.done_reason, "stop");
  EXPECT_EQ(o.result.stop_sequence, "little girl");
  req.stop = {"zebra", "Lily. She", "named"};  // the one starting earliest wins
  o = run(*r, req);
  EXPECT_EQ(o.text, ", there was a little girl ");
  EXPECT_EQ(o.result.stop_sequence, "named");
  req.stop = {};
  req.num_predict = 3;
  o = run(*r, req);
  EXPECT_EQ(o.result.done_reason, "length");
  EXPECT_EQ(o.result.stop_sequence, "");
}

TEST(Runner, CancelFreesTheSlot) {
  auto r = make_runner(1);
  int chunks = 0;
  auto res = r->complete(greedy("Once upon a time", 2000),
                         [&](const runner::CompletionChunk&) { return ++chunks < 3; });
  EXPECT_EQ(chunks, 3);  // nothing is delivered after the callback declined
  // The loop may have run a few steps ahead of a slow consumer, but it stops long before the
  // limit once the cancel is seen.
  EXPECT_LT(res.eval_count, 2000);
  EXPECT_EQ(r->active(), 0);
  // The single slot is free again: the next request runs to completion.
  Out o = run(*r, greedy("Once upon a time", 5));
  EXPECT_EQ(o.result.eval_count, 5);
}

TEST(Runner, StoppedTokenEndsAWaitForASlotAndAGeneration) {
  auto r = make_runner(1);
  // One slot, held by a long generation (stories260K decodes thousands of tokens a second:
  // the limit must outlast the waits below by far): a second request waits for it until its
  // token stops.
  constexpr int kLong = 1000000;
  std::stop_source first;
  auto gen = r->start(greedy("Once upon a time", kLong), r->admit(greedy("Once upon a time", kLong)),
                      first.get_token());
  runner::CompletionChunk ch;
  ASSERT_TRUE(gen->next(ch));
  std::stop_source second;
  auto waiting = std::async(std::launch::async, [&] {
    try {
      r->start(greedy("Once", 5), r->admit(greedy("Once", 5)), second.get_token());
      return std::string("started");
    } catch (const util::Error& e) {
      return std::string(e.kind() == util::ErrorKind::kCancelled ? "cancelled" : e.what());
    }
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  second.request_stop();  // from this thread: the waiter wakes without polling
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(waiting.get(), "cancelled");
  // Stopping the first token ends its generation from another thread: next() drains and ends
  // long before the limit.
  first.request_stop();
  while (gen->next(ch)) {
  }
  EXPECT_LT(gen->result().eval_count, kLong);
  gen.reset();
  EXPECT_EQ(r->active(), 0);
  // A token stopped before start cancels at once.
  std::stop_source already;
  already.request_stop();
  EXPECT_THROW(r->start(greedy("Once", 5), r->admit(greedy("Once", 5)), already.get_token()),
               util::Error);
  Out o = run(*r, greedy("Once upon a time", 5));
  EXPECT_EQ(o.result.eval_count, 5);
}

TEST(Runner, ContextShiftKeepsGenerating) {
  auto r = make_runner(1, 32);
  CompletionRequest req = greedy("Once upon a time", 100);
  Out o = run(*r, req);
  EXPECT_EQ(o.result.eval_count, 100);
  EXPECT_EQ(o.result.done_reason, "length");
  req.shift = false;
  o = run(*r, req);
  EXPECT_EQ(o.result.done_reason, "length");
  EXPECT_EQ(o.result.eval_count, 32 - 5 + 1);  // window full; the last token is never fed back
}

TEST(Runner, LongPromptTruncatedOrRejected) {
  auto r = make_runner(1, 32);
  std::string long_prompt;
  for (int i = 0; i < 20; i++) long_prompt += "Lily and Tom went to the beach. ";
  CompletionRequest req = greedy(long_prompt, 3);
  Out o = run(*r, req);
  EXPECT_LT(o.result.prompt_eval_count, 32);
  EXPECT_EQ(o.result.context[0], 1);  // BOS kept
  req.shift = false;
  try {
    run(*r, req);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_NE(std::string(e.what()).find("the prompt is longer than the context length"),
              std::string::npos);
  }
}

TEST(Runner, PromptCacheGivesSameAnswer) {
  auto r = make_runner(1);
  Out a = run(*r, greedy("Lily and Tom went to the beach", 20));
  Out b = run(*r, greedy("Lily and Tom went to the beach", 20));
  EXPECT_EQ(a.text, b.text);
  // A different prompt shares only BOS with the cached one: the rest is recomputed.
  Out c = run(*r, greedy("Once upon a time", 10));
  auto fresh = make_runner(1);
  EXPECT_EQ(c.text, run(*fresh, greedy("Once upon a time", 10)).text);
}

TEST(Runner, LogprobsAndSeededSampling) {
  auto r = make_runner(1);
  CompletionRequest req = greedy("Once upon a time", 3);
  req.logprobs = true;
  req.top_logprobs = 3;
  std::vector<runner::TokenLogprob> lps;
  r->complete(req, [&](const runner::CompletionChunk& c) {
    lps.insert(lps.end(), c.logprobs.begin(), c.logprobs.end());
    return true;
  });
  ASSERT_EQ(lps.size(), 3u);
  EXPECT_EQ(lps[0].top.size(), 3u);
  EXPECT_LE(lps[0].logprob, 0.0);
  EXPECT_EQ(lps[0].top[0].token, lps[0].token);  // greedy picks the most likely
  CompletionRequest s = greedy("Once upon a time", 30);
  s.sampling.temperature = 1.0f;
  s.sampling.seed = 42;
  EXPECT_EQ(run(*r, s).text, run(*r, s).text);
}

// --- stop strings: the matcher against a plain reference, and its cost ----------------------

namespace {

// What the stop semantics say, the slow way: after each piece, the text so far is searched for
// every stop string; the first piece that completes one cuts the output at the earliest start
// among those found (as Ollama checks after every token).
std::string reference_cut(const std::string& text, const std::vector<size_t>& cuts,
                          const std::vector<std::string>& stops, bool* matched) {
  *matched = false;
  for (size_t end : cuts) {
    std::string so_far = text.substr(0, end);
    size_t first = std::string::npos;
    for (const auto& s : stops)
      if (!s.empty()) first = std::min(first, so_far.find(s));
    if (first != std::string::npos) {
      *matched = true;
      return so_far.substr(0, first);
    }
  }
  return text;
}

}  // namespace

TEST(StopMatcherKmp, AgreesWithTheReferenceOnRandomStreams) {
  std::mt19937 rng(7);
  const std::string alphabet = "aab";
  for (int trial = 0; trial < 3000; trial++) {
    std::vector<std::string> stops;
    int n_stops = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n_stops; i++) {
      std::string s;
      int len = 1 + static_cast<int>(rng() % 5);
      for (int k = 0; k < len; k++) s += alphabet[rng() % alphabet.size()];
      stops.push_back(s);
    }
    std::string text;
    int len = static_cast<int>(rng() % 24);
    for (int k = 0; k < len; k++) text += alphabet[rng() % alphabet.size()];
    std::vector<size_t> cuts;
    for (size_t at = 0; at < text.size();) {
      at = std::min(text.size(), at + 1 + rng() % 4);
      cuts.push_back(at);
    }
    runner::StopMatcher m(stops);
    std::string out;
    size_t at = 0;
    for (size_t end : cuts) {
      if (m.matched()) break;
      out += m.push(text.substr(at, end - at));
      at = end;
    }
    if (!m.matched()) out += m.flush();
    bool want_match = false;
    std::string want = reference_cut(text, cuts, stops, &want_match);
    ASSERT_EQ(m.matched(), want_match) << "text=" << text << " stop0=" << stops[0];
    ASSERT_EQ(out, want) << "text=" << text << " stops=" << ::testing::PrintToString(stops);
  }
}

TEST(StopMatcherKmp, LongAdversarialStopsCostLinearTime) {
  // "aaa...ab" against a stream of 'a': the old suffix scan was quadratic per token.
  std::vector<std::string> stops(64, std::string(100000, 'a') + "b");
  runner::StopMatcher m(stops);
  auto t0 = std::chrono::steady_clock::now();
  std::string out;
  for (int i = 0; i < 2000; i++) out += m.push("aaaa");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(m.matched());
  EXPECT_TRUE(out.empty());  // all 8000 bytes may still start a stop string
  EXPECT_LT(s, 2.0);
  EXPECT_EQ(m.flush().size(), 8000u);
}
