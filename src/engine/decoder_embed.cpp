#include "engine/decoder_embed.h"

#include <algorithm>
#include <string>

#include "engine/kv/kv_cache.h"
#include "engine/model_impl.h"
#include "engine/nn/step.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine {

std::vector<float> decoder_last_hidden(const Model& model, const std::vector<int32_t>& tokens,
                                       util::ThreadPool& pool, int n_batch) {
  const model::Arch& arch = *model.impl().arch;
  const nn::Shape& sh = arch.shape();
  const int n = static_cast<int>(tokens.size());
  if (n == 0) throw util::bad_request("cannot embed an empty sequence");
  for (int32_t id : tokens) {
    if (id < 0 || id >= sh.n_vocab)
      throw util::bad_request("token id " + std::to_string(id) + " out of range");
  }
  n_batch = std::max(1, std::min(n_batch, n));
  kv::KvCache kv(static_cast<int>(sh.n_layer), static_cast<int>(sh.n_head_kv),
                 static_cast<int>(sh.head_dim_k), static_cast<int>(sh.head_dim_v), n, 1,
                 KvType::kF32);
  nn::Scratch scratch;
  scratch.resize(sh, n_batch, n, pool.size());
  std::vector<int32_t> pos(n), seq(n, 0), cell(n_batch);
  for (int i = 0; i < n; i++) pos[i] = i;
  std::vector<float> logits(sh.n_vocab);
  for (int start = 0; start < n; start += n_batch) {
    const int len = std::min(n_batch, n - start);
    nn::Step s;
    s.pool = &pool;
    s.serial = nullptr;
    s.kv = &kv;
    s.buf = &scratch;
    s.n_tokens = len;
    s.tokens = tokens.data() + start;
    s.pos = pos.data() + start;
    s.seq = seq.data() + start;
    for (int t = 0; t < len; t++) cell[t] = kv.append(0, pos[start + t]);
    s.cell = cell.data();
    const bool last_chunk = start + len == n;
    const int32_t out_row[1] = {len - 1};
    s.n_out = last_chunk ? 1 : 0;
    s.out_rows = out_row;
    s.logits = logits.data();
    arch.forward(s);
  }
  // The output head normalizes each requested row into xn before the output matrix.
  return std::vector<float>(scratch.xn.begin(), scratch.xn.begin() + sh.n_embd);
}

}  // namespace engine
