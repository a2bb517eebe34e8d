// engine-run MODEL.gguf "prompt" [-n N] [-t N] [--temp T] [--seed S] [--top-k K] [--top-p P]:
// tokenizes, prefills, samples and streams text with the engine alone (no server), then
// prints prompt/generation speed to stderr.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/engine.h"
#include "engine/sample/sampler.h"
#include "engine/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  std::string path, prompt;
  int n_predict = 64, n_threads = 0, n_ctx = 2048;
  engine::sample::SamplerParams sp;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "-n")
      n_predict = std::atoi(next());
    else if (a == "-t")
      n_threads = std::atoi(next());
    else if (a == "-c")
      n_ctx = std::atoi(next());
    else if (a == "--temp")
      sp.temperature = std::strtof(next(), nullptr);
    else if (a == "--seed")
      sp.seed = std::atoll(next());
    else if (a == "--top-k")
      sp.top_k = std::atoi(next());
    else if (a == "--top-p")
      sp.top_p = std::strtof(next(), nullptr);
    else if (a == "--repeat-penalty")
      sp.repeat_penalty = std::strtof(next(), nullptr);
    else if (path.empty())
      path = a;
    else
      prompt = a;
  }
  if (path.empty()) {
    std::fprintf(stderr,
                 "usage: engine-run MODEL.gguf \"prompt\" [-n N] [-t N] [-c N] [--temp T] "
                 "[--seed S] [--top-k K] [--top-p P] [--repeat-penalty R]\n");
    return 2;
  }
  try {
    auto model = engine::Model::load(path, {.n_threads = n_threads});
    const auto& tok = model->tokenizer();
    std::vector<int32_t> ids = tok.encode(prompt, true, true);
    if (ids.empty()) ids.push_back(tok.bos() >= 0 ? tok.bos() : 0);
    auto ctx = model->new_context({.n_ctx = n_ctx});
    engine::sample::Sampler sampler(sp, model->n_vocab(), n_ctx);
    engine::Batch b;
    for (size_t i = 0; i < ids.size(); i++) {
      b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
      sampler.accept(ids[i]);
    }
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    ctx->decode(b);
    const auto t1 = clock::now();
    tokenizer::StreamDecoder out(tok);
    std::printf("%s", prompt.c_str());
    int pos = static_cast<int>(ids.size()), generated = 0;
    while (generated < n_predict && pos < n_ctx) {
      const int32_t t = sampler.sample(ctx->logits(0));
      if (tok.is_eog(t)) break;
      sampler.accept(t);
      std::printf("%s", out.push(t).c_str());
      std::fflush(stdout);
      generated++;
      b.clear();
      b.add(t, pos++, 0, true);
      ctx->decode(b);
    }
    std::printf("%s\n", out.flush().c_str());
    const auto t2 = clock::now();
    const double pp = std::chrono::duration<double>(t1 - t0).count();
    const double tg = std::chrono::duration<double>(t2 - t1).count();
    std::fprintf(stderr, "prompt %zu tokens %.1f t/s, generated %d tokens %.1f t/s\n", ids.size(),
                 ids.size() / pp, generated, generated / tg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
