// Embedder: loading, tokenizing with truncation, packing sequences into encoder passes, pooling.
#include "engine/embed.h"

#include <algorithm>
#include <chrono>

#include "engine/gguf/gguf.h"
#include "engine/model/encoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine {

bool Embedder::is_encoder(const std::string& arch) {
  return arch == "bert" || arch == "nomic-bert";
}

Embedder::Embedder() = default;
Embedder::~Embedder() = default;

std::unique_ptr<Embedder> Embedder::load(const std::string& path, const LoadOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Embedder> e(new Embedder());
  e->file_ = gguf::File::open(path);
  const gguf::File& file = *e->file_;
  e->encoder_ = std::make_unique<model::Encoder>(file);
  e->name_ = file.get_string("general.name", "");
  for (const gguf::TensorInfo& t : file.tensors()) e->weight_bytes_ += t.n_bytes;
  if (opts.load_tokenizer && file.has("tokenizer.ggml.model")) {
    e->tok_ = std::make_unique<tokenizer::Tokenizer>(file);
  }
  const int n_threads = opts.n_threads > 0 ? opts.n_threads : util::physical_cores();
  e->pool_ = std::make_unique<util::ThreadPool>(n_threads);
  e->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

const std::string& Embedder::arch() const { return encoder_->params().arch; }
const std::string& Embedder::name() const { return name_; }
int64_t Embedder::n_embd() const { return encoder_->params().n_embd; }
int64_t Embedder::n_ctx_train() const { return encoder_->params().n_ctx_train; }
Pooling Embedder::pooling() const { return static_cast<Pooling>(encoder_->params().pooling); }
int Embedder::n_threads() const { return pool_->size(); }
int64_t Embedder::n_cls_out() const { return encoder_->params().n_cls_out; }

const tokenizer::Tokenizer& Embedder::tokenizer() const {
  if (!tok_)
    throw util::Error(file_->path() + ": model has no tokenizer", util::ErrorKind::kUnsupported);
  return *tok_;
}

std::vector<int32_t> Embedder::tokenize(std::string_view text, int64_t max_tokens, bool truncate,
                                        bool* was_cut) const {
  const tokenizer::Tokenizer& tok = tokenizer();
  if (was_cut) *was_cut = false;
  // Special tokens in the text are parsed, as Ollama's runner tokenizes embedding inputs.
  std::vector<int32_t> body = tok.encode(text, /*add_special=*/false, /*parse_special=*/true);
  const bool wordpiece = tok.algorithm() == tokenizer::Algorithm::kWordPiece;
  const int32_t begin = wordpiece ? tok.cls() : tok.bos();
  const int32_t end = wordpiece ? tok.sep() : tok.eos();
  const bool add_begin = tok.add_bos() && begin >= 0 && (body.empty() || body.front() != begin);
  const bool add_end = tok.add_eos() && end >= 0 && (body.empty() || body.back() != end);
  if (max_tokens > 0) {
    const int64_t limit = std::max<int64_t>(0, max_tokens - add_begin - add_end);
    if (static_cast<int64_t>(body.size()) > limit) {
      if (!truncate) throw util::bad_request("the input length exceeds the context length");
      body.resize(limit);
      if (was_cut) *was_cut = true;
    }
  }
  std::vector<int32_t> out;
  out.reserve(body.size() + 2);
  if (add_begin) out.push_back(begin);
  out.insert(out.end(), body.begin(), body.end());
  if (add_end) out.push_back(end);
  return out;
}

std::vector<int32_t> Embedder::tokenize_pair(std::string_view query, std::string_view document,
                                             int64_t max_tokens, bool truncate) const {
  const tokenizer::Tokenizer& tok = tokenizer();
  std::vector<int32_t> q = tok.encode(query, /*add_special=*/false, /*parse_special=*/true);
  std::vector<int32_t> d = tok.encode(document, /*add_special=*/false, /*parse_special=*/true);
  const bool wordpiece = tok.algorithm() == tokenizer::Algorithm::kWordPiece;
  const int32_t begin = wordpiece ? tok.cls() : tok.bos();
  const int32_t end = wordpiece ? tok.sep() : tok.eos();
  // Between the two: one [SEP] for BERT, two </s> for RoBERTa-style vocabularies.
  std::vector<int32_t> mid;
  if (end >= 0) mid.assign(wordpiece ? 1 : 2, end);
  const int64_t specials = (begin >= 0) + static_cast<int64_t>(mid.size()) + (end >= 0);
  if (max_tokens > 0) {
    const int64_t room = std::max<int64_t>(0, max_tokens - specials);
    const int64_t n = static_cast<int64_t>(q.size() + d.size());
    if (n > room) {
      if (!truncate) throw util::bad_request("the input length exceeds the context length");
      const int64_t keep_d = std::max<int64_t>(0, room - static_cast<int64_t>(q.size()));
      d.resize(std::min<size_t>(d.size(), static_cast<size_t>(keep_d)));
      if (static_cast<int64_t>(q.size()) > room) q.resize(room);
    }
  }
  std::vector<int32_t> out;
  out.reserve(q.size() + d.size() + 4);
  if (begin >= 0) out.push_back(begin);
  out.insert(out.end(), q.begin(), q.end());
  out.insert(out.end(), mid.begin(), mid.end());
  out.insert(out.end(), d.begin(), d.end());
  if (end >= 0) out.push_back(end);
  return out;
}

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::vector<int32_t>>& batch,
                                                Pooling pooling) const {
  const model::EncoderParams& p = encoder_->params();
  for (const auto& seq : batch) {
    if (seq.empty()) throw util::bad_request("cannot embed an empty sequence");
    if (static_cast<int64_t>(seq.size()) > p.n_ctx_train) {
      throw util::bad_request("the input length exceeds the context length (" +
                              std::to_string(seq.size()) + " tokens, the model takes " +
                              std::to_string(p.n_ctx_train) + ")");
    }
    for (int32_t id : seq) {
      if (id < 0 || id >= p.n_vocab) {
        throw util::bad_request("token id " + std::to_string(id) + " out of range [0, " +
                                std::to_string(p.n_vocab) + ")");
      }
    }
  }
  const int64_t E = p.n_embd;
  std::vector<std::vector<float>> result(batch.size());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int32_t> tokens;
  std::vector<int64_t> starts;
  std::vector<float> hidden;
  for (size_t first = 0; first < batch.size();) {
    // Pack whole sequences up to about kChunkTokens (at least one).
    tokens.clear();
    starts.assign(1, 0);
    size_t last = first;
    while (last < batch.size() &&
           (last == first ||
            static_cast<int64_t>(tokens.size() + batch[last].size()) <= kChunkTokens)) {
      tokens.insert(tokens.end(), batch[last].begin(), batch[last].end());
      starts.push_back(static_cast<int64_t>(tokens.size()));
      last++;
    }
    hidden.assign(tokens.size() * E, 0.0f);
    encoder_->forward(tokens, starts, hidden.data(), *pool_);
    if (pooling == Pooling::kRank) {
      if (p.n_cls_out <= 0) throw util::bad_request("the model has no classification head");
      const int64_t n_seq = static_cast<int64_t>(last - first), L = p.n_cls_out;
      std::vector<float> states(n_seq * E), scores(n_seq * L);
      for (int64_t i = 0; i < n_seq; i++)
        std::copy_n(hidden.data() + starts[i] * E, E, states.data() + i * E);
      encoder_->classify(states.data(), n_seq, scores.data(), *pool_);
      for (int64_t i = 0; i < n_seq; i++)
        result[first + i].assign(scores.data() + i * L, scores.data() + (i + 1) * L);
      first = last;
      continue;
    }
    for (size_t i = first; i < last; i++) {
      const int64_t s0 = starts[i - first], n = starts[i - first + 1] - s0;
      const float* h = hidden.data() + s0 * E;
      std::vector<float>& out = result[i];
      switch (pooling) {
        case Pooling::kNone:
          out.assign(h, h + n * E);
          break;
        case Pooling::kCls:
          out.assign(h, h + E);
          break;
        case Pooling::kLast:
          out.assign(h + (n - 1) * E, h + n * E);
          break;
        case Pooling::kRank:  // handled above
          break;
        case Pooling::kMean: {
          std::vector<double> acc(E, 0.0);
          for (int64_t t = 0; t < n; t++)
            for (int64_t d = 0; d < E; d++) acc[d] += h[t * E + d];
          out.resize(E);
          for (int64_t d = 0; d < E; d++) out[d] = static_cast<float>(acc[d] / n);
          break;
        }
      }
    }
    first = last;
  }
  return result;
}

}  // namespace engine
