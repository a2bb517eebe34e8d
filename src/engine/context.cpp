// Context: the KV cache, scratch and logits of one decoding session; splits batches into
// chunks of n_batch tokens and runs the architecture's forward on each.
#include <algorithm>
#include <string>

#include "engine/engine.h"
#include "engine/gpu/device_backend.h"
#include "engine/gpu/fit.h"
#include "engine/kv/kv_cache.h"
#include "engine/model_impl.h"
#include "engine/nn/blocks.h"
#include "engine/nn/step.h"
#include "ops/blocks.h"
#include "util/error.h"

namespace engine {

struct Context::Impl {
  const Model* model = nullptr;
  const model::Arch* arch = nullptr;
  ContextOptions opts;
  std::unique_ptr<kv::KvCache> kv;
  nn::Scratch scratch;
  std::vector<float> logits;       // [n_outputs, n_vocab]
  std::vector<int32_t> out_index;  // batch index -> output index or -1
  int n_outputs = 0;
  // Per-chunk token arrays (n_batch each), reused.
  std::vector<int32_t> cell, out_rows;
  std::vector<int> need, appended;  // per sequence, reused by decode()
  std::unique_ptr<gpu::DeviceBackend> backend;  // ContextOptions::gpu
  int device_from = 0;                          // the backend's first layer

  void kv_changed(int seq) {
    if (backend) backend->kv_changed(seq);
  }
};

namespace {

// The layers that fit on the device (ContextOptions::gpu_layers -1), or util::Error when none.
int fit_on_gpu(const Model& m, const nn::Shape& sh, const ContextOptions& o) {
  const uint64_t free = gpu::device_free_bytes();
  const gpu::GpuBytes need = gpu::gpu_bytes(m.file(), sh, o.n_ctx, o.n_seq_max, o.n_batch);
  const int n = gpu::fit_layers(need, free, o.gpu_overhead);
  if (n > 0) return n;
  const uint64_t layer = need.layer.empty() ? 0 : need.layer.back();
  throw util::Error("not enough GPU memory: " + gpu::format_bytes(free) + " free, less " +
                        gpu::format_bytes(o.gpu_overhead) + " OLLAMA_GPU_OVERHEAD; the model needs " +
                        gpu::format_bytes(need.fixed) + " plus " + gpu::format_bytes(layer) +
                        " per layer",
                    util::ErrorKind::kOutOfMemory);
}

}  // namespace

std::unique_ptr<Context> Model::new_context(const ContextOptions& o) const {
  auto impl = std::make_unique<Context::Impl>();
  impl->model = this;
  impl->arch = impl_->arch.get();
  ContextOptions opts = o;
  if (opts.n_ctx <= 0) opts.n_ctx = static_cast<int>(std::min<int64_t>(info().n_ctx_train, 4096));
  if (opts.n_seq_max <= 0 || opts.n_batch <= 0 || opts.n_ctx <= 0) {
    throw util::bad_request("context: n_ctx, n_seq_max and n_batch must be positive");
  }
  opts.n_batch = std::min(opts.n_batch, opts.n_ctx * opts.n_seq_max);
  impl->opts = opts;
  const nn::Shape& sh = impl->arch->shape();
  impl->kv = std::make_unique<kv::KvCache>(
      static_cast<int>(sh.n_layer), static_cast<int>(sh.n_head_kv), static_cast<int>(sh.head_dim_k),
      static_cast<int>(sh.head_dim_v), opts.n_ctx, opts.n_seq_max, opts.kv_type);
  impl->scratch.resize(sh, opts.n_batch, opts.n_ctx, n_threads());
  impl->cell.resize(opts.n_batch);
  impl->out_rows.resize(opts.n_batch);
  const int n_layer = static_cast<int>(sh.n_layer);
  if (opts.gpu && opts.gpu_layers != 0) {
    if (std::string name; !opts.gpu_cpu_device && gpu::device_is_cpu(&name)) {
      throw util::Error("the Vulkan device (" + name +
                        ") is a CPU renderer, slower than running on the CPU; name it in "
                        "GGML_VK_VISIBLE_DEVICES or set OLLAMA_LLM_LIBRARY=vulkan to use it",
                        util::ErrorKind::kUnsupported);
    }
    int on_gpu = std::min(opts.gpu_layers, n_layer);
    if (opts.gpu_layers < 0) on_gpu = fit_on_gpu(*this, sh, opts);
    impl->device_from = n_layer - on_gpu;
    impl->backend = gpu::make_vulkan_backend(*impl->arch, info().arch, impl->scratch, *impl->kv,
                                             opts.n_batch, impl->device_from);
  }
  std::unique_ptr<Context> ctx(new Context(std::move(impl)));
  if (ctx->impl_->backend) {
    // One token through every layer uploads the weights and builds the kernels now, so a
    // device that runs out of memory fails the load (the runner falls back to the CPU), not
    // a request.
    Batch b;
    b.token = {0};
    b.pos = {0};
    b.seq_id = {0};
    b.want_logits = {true};
    ctx->decode(b);
    ctx->kv_seq_clear(0);
  }
  return ctx;
}

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::~Context() = default;

void Context::decode(const Batch& batch) {
  Impl& c = *impl_;
  const size_t n = batch.token.size();
  if (batch.pos.size() != n || batch.seq_id.size() != n || batch.want_logits.size() != n) {
    throw util::bad_request("decode: batch arrays differ in length");
  }
  const int64_t n_vocab = c.arch->shape().n_vocab;
  std::vector<int>& need = c.need;
  need.assign(c.opts.n_seq_max, 0);
  int n_out = 0;
  for (size_t i = 0; i < n; i++) {
    if (batch.token[i] < 0 || batch.token[i] >= n_vocab) {
      throw util::bad_request("decode: token id " + std::to_string(batch.token[i]) +
                              " out of range (vocabulary has " + std::to_string(n_vocab) + ")");
    }
    if (batch.seq_id[i] < 0 || batch.seq_id[i] >= c.opts.n_seq_max) {
      throw util::bad_request("decode: sequence id " + std::to_string(batch.seq_id[i]) +
                              " out of range (n_seq_max " + std::to_string(c.opts.n_seq_max) + ")");
    }
    if (batch.pos[i] < 0) throw util::bad_request("decode: negative position");
    need[batch.seq_id[i]]++;
    if (batch.want_logits[i]) n_out++;
  }
  for (int s = 0; s < c.opts.n_seq_max; s++) {
    if (need[s] > c.kv->free_cells(s)) {
      throw util::bad_request("decode: sequence " + std::to_string(s) + " needs " +
                              std::to_string(need[s]) + " KV cells but has " +
                              std::to_string(c.kv->free_cells(s)) + " free (context " +
                              std::to_string(c.opts.n_ctx) + "); shift or truncate first");
    }
  }
  if (c.logits.size() < static_cast<size_t>(n_out) * n_vocab) c.logits.resize(n_out * n_vocab);
  c.out_index.assign(n, -1);
  c.n_outputs = 0;

  std::vector<int>& appended = c.appended;
  appended.assign(c.opts.n_seq_max, 0);
  try {
    int out_base = 0;
    for (size_t start = 0; start < n; start += c.opts.n_batch) {
      const int len = static_cast<int>(std::min<size_t>(c.opts.n_batch, n - start));
      nn::Step s;
      s.pool = &model().pool();
      s.serial = model().impl().serial.get();
      s.kv = c.kv.get();
      s.buf = &c.scratch;
      s.n_tokens = len;
      s.tokens = batch.token.data() + start;
      s.pos = batch.pos.data() + start;
      s.seq = batch.seq_id.data() + start;
      int chunk_out = 0;
      for (int t = 0; t < len; t++) {
        const int seq = s.seq[t];
        c.cell[t] = c.kv->append(seq, s.pos[t]);
        appended[seq]++;
        if (batch.want_logits[start + t]) {
          c.out_rows[chunk_out++] = t;
          c.out_index[start + t] = out_base + chunk_out - 1;
        }
      }
      s.cell = c.cell.data();
      s.n_out = chunk_out;
      s.out_rows = c.out_rows.data();
      s.logits = c.logits.data() + static_cast<size_t>(out_base) * n_vocab;
      if (c.backend) {
        s.device = c.backend.get();
        s.device_from = c.device_from;
        s.backend = c.device_from == 0 ? s.device : nullptr;  // the embedding's side
        c.backend->begin(s);
        c.arch->forward(s);
        c.backend->finish(s);
      } else {
        c.arch->forward(s);
      }
      out_base += chunk_out;
    }
    c.n_outputs = out_base;
  } catch (...) {
    for (int s = 0; s < c.opts.n_seq_max; s++) c.kv->pop(s, appended[s]);
    c.n_outputs = 0;
    c.out_index.assign(n, -1);
    throw;
  }
}

int Context::n_outputs() const { return impl_->n_outputs; }

const float* Context::logits(int i) const {
  if (i < 0 || i >= impl_->n_outputs) return nullptr;
  return impl_->logits.data() + static_cast<size_t>(i) * impl_->arch->shape().n_vocab;
}

const float* Context::logits_at_batch(int batch_index) const {
  if (batch_index < 0 || batch_index >= static_cast<int>(impl_->out_index.size())) return nullptr;
  return logits(impl_->out_index[batch_index]);
}

static void check_seq(const Context::Impl& c, int seq) {
  if (seq < 0 || seq >= c.opts.n_seq_max) {
    throw util::bad_request("kv: sequence id " + std::to_string(seq) + " out of range");
  }
}

void Context::kv_clear() {
  impl_->kv->clear();
  impl_->kv_changed(-1);
}
void Context::kv_seq_clear(int seq) {
  check_seq(*impl_, seq);
  impl_->kv->seq_clear(seq);
  impl_->kv_changed(seq);
}
void Context::kv_seq_remove(int seq, int32_t p0, int32_t p1) {
  check_seq(*impl_, seq);
  impl_->kv->seq_remove(seq, p0, p1);
  impl_->kv_changed(seq);
}

void Context::kv_seq_shift(int seq, int32_t p0, int32_t p1, int32_t delta) {
  check_seq(*impl_, seq);
  Impl& c = *impl_;
  const std::vector<int> moved = c.kv->seq_shift(seq, p0, p1, delta);
  c.kv_changed(seq);
  if (moved.empty() || delta == 0) return;
  const nn::Shape& sh = c.arch->shape();
  const int64_t hd = sh.head_dim_k;
  std::vector<float> cs(std::max<int64_t>(hd, 2)), row(hd);
  const bool f16 = c.kv->type() == KvType::kF16;
  for (int il = 0; il < sh.n_layer; il++) {
    const nn::Rope& rope = c.arch->rope(il);
    nn::rope_cache(rope, static_cast<float>(delta), cs.data());
    for (int h = 0; h < sh.n_head_kv; h++) {
      auto* base = static_cast<uint8_t*>(c.kv->k_rows(il, seq, h));
      for (int cell : moved) {
        if (f16) {
          auto* k = reinterpret_cast<uint16_t*>(base) + static_cast<size_t>(cell) * hd;
          for (int64_t d = 0; d < hd; d++) row[d] = ops::fp16_to_fp32(k[d]);
          nn::rope_apply(row.data(), 1, hd, rope, cs.data());
          for (int64_t d = 0; d < hd; d++) k[d] = ops::fp32_to_fp16(row[d]);
        } else {
          auto* k = reinterpret_cast<float*>(base) + static_cast<size_t>(cell) * hd;
          nn::rope_apply(k, 1, hd, rope, cs.data());
        }
      }
    }
  }
}

void Context::kv_context_shift(int seq, int32_t n_keep, int32_t n_discard) {
  kv_seq_remove(seq, n_keep, n_keep + n_discard);
  kv_seq_shift(seq, n_keep + n_discard, -1, -n_discard);
}

void Context::kv_seq_copy(int src, int dst, int32_t p0, int32_t p1) {
  check_seq(*impl_, src);
  check_seq(*impl_, dst);
  impl_->kv->seq_copy(src, dst, p0, p1);
  impl_->kv_changed(dst);
}

int32_t Context::kv_seq_pos_max(int seq) const {
  check_seq(*impl_, seq);
  return impl_->kv->pos_max(seq);
}
int Context::kv_seq_n_tokens(int seq) const {
  check_seq(*impl_, seq);
  return impl_->kv->n_used(seq);
}
int Context::n_ctx() const { return impl_->opts.n_ctx; }
int Context::n_seq_max() const { return impl_->opts.n_seq_max; }
int Context::n_batch() const { return impl_->opts.n_batch; }
KvType Context::kv_type() const { return impl_->opts.kv_type; }
size_t Context::kv_bytes() const { return impl_->kv->bytes(); }
int Context::gpu_layers() const {
  return impl_->backend ? static_cast<int>(impl_->arch->shape().n_layer) - impl_->device_from : 0;
}
std::string Context::device() const {
  return impl_->backend ? impl_->backend->device_name() : std::string();
}
const Model& Context::model() const { return *impl_->model; }

}  // namespace engine
