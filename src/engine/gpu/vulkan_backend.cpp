// The Vulkan DeviceBackend (ARCHITECTURE.md §6). One Step = one command buffer (in a prompt-sized
// step a MoE layer adds one submission: its router's logits come back to the host): the token
// embeddings are looked up on the host and copied in, every block is recorded as dispatches
// on device twins of the Scratch rows, and the logits come back once in finish(). Weights are
// uploaded on first use (plain rows; packed CPU layouts are unpacked first), which
// Model::new_context makes happen at load with one token through every layer. The KV cache is
// mirrored on the device in F32 ([seq][cell][kv heads x head dim] per layer, rounded to fp16
// when the host cache is fp16, so both paths attend to the same values); each step's new
// keys/values are also copied back into the host cache, which stays complete for the
// context's edits, after which the device copy is rebuilt from it.
#include "engine/gpu/device_backend.h"

#include "util/error.h"

#ifdef OLLAMA_HAVE_VULKAN
#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "engine/gpu/device_moe.h"
#include "gpu/vulkan/device.h"
#include "gpu/vulkan/matvec.h"
#include "gpu/vulkan/vec_ops.h"
#include "ops/blocks.h"
#include "ops/kernels_impl.h"
#include "ops/matmul.h"
#endif

namespace engine::gpu {

#ifndef OLLAMA_HAVE_VULKAN

bool vulkan_built() { return false; }

uint64_t device_free_bytes() {
  throw util::Error("this build has no GPU support (built without libvulkan-dev and glslc)",
                    util::ErrorKind::kUnsupported);
}

uint64_t device_submissions() { return 0; }

bool device_is_cpu(std::string*) {
  throw util::Error("this build has no GPU support (built without libvulkan-dev and glslc)",
                    util::ErrorKind::kUnsupported);
}

double device_bandwidth_gbs(size_t, std::string*) {
  throw util::Error("this build has no GPU support (built without libvulkan-dev and glslc)",
                    util::ErrorKind::kUnsupported);
}

std::unique_ptr<DeviceBackend> make_vulkan_backend(const model::Arch&, const std::string&,
                                                   const nn::Scratch&, kv::KvCache&, int, int) {
  throw util::Error("this build has no GPU support (built without libvulkan-dev and glslc)",
                    util::ErrorKind::kUnsupported);
}

#else

namespace vk = ::gpu::vk;

namespace {

// The architectures whose forward uses only the blocks this backend records.
bool arch_supported(const std::string& name) {
  for (const char* a : {"llama", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3", "gpt-oss",
                        "qwen3moe"})
    if (name == a) return true;
  return false;
}

class VulkanBackend final : public DeviceBackend {
 public:
  VulkanBackend(const model::Arch& arch, const nn::Scratch& scratch, kv::KvCache& kv,
                int n_batch, int first_layer)
      : dev_(vk::Device::get()),
        shape_(arch.shape()),
        kv_(kv),
        n_batch_(n_batch),
        first_layer_(first_layer),
        matvec_(dev_, std::max(arch.shape().n_embd, std::max(arch.shape().n_ff, arch.shape().n_q())),
                n_batch),
        ops_(dev_),
        rec_(dev_),
        moe_(dev_, matvec_, ops_, rec_, arch.shape(), n_batch,
             [this](const float* p) { return twin(p); }) {
    const nn::Shape& sh = shape_;
    if (sh.head_dim_k != sh.head_dim_v)
      throw util::Error("vulkan: keys and values of different widths");
    // Device twins of the Scratch rows the blocks name.
    for (const std::vector<float>* v : {&scratch.x, &scratch.xn, &scratch.q, &scratch.k,
                                        &scratch.v, &scratch.attn, &scratch.proj, &scratch.gate,
                                        &scratch.up, &scratch.wide, &scratch.moe_logits,
                                        &scratch.moe_x, &scratch.moe_g, &scratch.moe_u,
                                        &scratch.moe_y}) {
      twins_.push_back({v->data(), v->size(), vk::Buffer(dev_, v->size() * 4 + 4, vk::Memory::kDevice)});
    }
    const size_t n_embd = sh.n_embd, n_kv = sh.n_k();
    x_in_ = vk::Buffer(dev_, n_batch * n_embd * 4, vk::Memory::kHost);
    cs_cap_ = 2 * sh.n_layer * n_batch * std::max<int64_t>(sh.head_dim_k, 2);
    cs_ = vk::Buffer(dev_, cs_cap_ * 4, vk::Memory::kHost);
    pos_ = vk::Buffer(dev_, static_cast<size_t>(kv.n_seq()) * kv.n_ctx() * 4, vk::Memory::kHost);
    if (sh.head_dim_k > vk::VecOps::kMaxAttnHeadDim)
      throw util::Error("vulkan: attention heads of " + std::to_string(sh.head_dim_k) +
                            " dims (the shader takes up to " +
                            std::to_string(vk::VecOps::kMaxAttnHeadDim) + ")",
                        util::ErrorKind::kUnsupported);
    table_ = vk::Buffer(dev_, n_batch * sizeof(vk::VecOps::TokenTable), vk::Memory::kHost);
    dirty_.assign(kv.n_seq(), false);
    // Sized now, so a step does not allocate: logits for one output per sequence (more only
    // when a step asks).
    logits_rows_ = kv.n_seq();
    logits_dev_ = vk::Buffer(dev_, logits_rows_ * sh.n_vocab * 4, vk::Memory::kDevice);
    logits_out_ = vk::Buffer(dev_, logits_rows_ * sh.n_vocab * 4, vk::Memory::kHost);
    kv_back_ = vk::Buffer(dev_, sh.n_layer * n_batch * 2 * n_kv * 4, vk::Memory::kHost);
    // The device KV cache of the layers this backend runs (the others' live on the host only).
    const size_t cache = static_cast<size_t>(kv.n_seq()) * kv.n_ctx() * n_kv * 4;
    k_cache_.resize(sh.n_layer);
    v_cache_.resize(sh.n_layer);
    for (int64_t l = first_layer; l < sh.n_layer; l++) {
      k_cache_[l] = vk::Buffer(dev_, cache, vk::Memory::kDevice);
      v_cache_[l] = vk::Buffer(dev_, cache, vk::Memory::kDevice);
    }
  }

  std::string device_name() const override { return dev_.info().name; }
  void kv_changed(int seq) override {
    kv_dirty_ = true;
    if (seq < 0) {
      std::fill(dirty_.begin(), dirty_.end(), true);
    } else {
      dirty_[seq] = true;
    }
  }

  void begin(nn::Step& s) override {
    if (s.n_tokens > n_batch_) throw util::Error("vulkan: step larger than the context's batch");
    cs_used_ = 0;
    if (kv_dirty_) rebuild_kv();
    // Positions of every cell of the sequences in this step (the host appended their cells),
    // and each token's row of the token table.
    auto* pos = static_cast<int32_t*>(pos_.data());
    auto* table = static_cast<vk::VecOps::TokenTable*>(table_.data());
    const int64_t n_kv = shape_.n_k(), n_ctx = kv_.n_ctx();
    for (int t = 0; t < s.n_tokens; t++) {
      const int seq = s.seq[t];
      std::memcpy(pos + static_cast<size_t>(seq) * n_ctx, kv_.positions(seq),
                  kv_.n_used(seq) * sizeof(int32_t));
      table[t] = {static_cast<int32_t>((seq * n_ctx + s.cell[t]) * n_kv),
                  static_cast<int32_t>(seq * n_ctx * n_kv), static_cast<int32_t>(seq * n_ctx),
                  s.pos[t], kv_.n_used(seq), 0};
    }
  }

  void embed(nn::Step& s, const nn::Matrix& token_embd, float scale) override {
    // The lookup runs on the host (the rows stay in the host weights), then one copy in.
    nn::Backend* self = s.backend;
    s.backend = nullptr;
    nn::embed(s, token_embd, scale);
    s.backend = self;
    take_residual(s);
  }

  void take_residual(nn::Step& s) override {
    const size_t bytes = static_cast<size_t>(s.n_tokens) * shape_.n_embd * 4;
    std::memcpy(x_in_.data(), s.buf->x.data(), bytes);
    rec_.copy(x_in_, twin(s.buf->x.data()).buf, bytes, 0, 0);
  }

  void rmsnorm_rows(nn::Step& s, const float* x, const nn::Vector& w, float eps, float* y,
                    int64_t n) override {
    const Loc xl = twin(x), yl = twin(y);
    ops_.rmsnorm(rec_, xl.buf, xl.off, &vector(w, n), 0, yl.buf, yl.off, u32(n),
                 u32(s.n_tokens), eps);
  }

  void linear(nn::Step& s, const nn::Matrix& w, const float* x, float* y, const nn::Vector* bias,
              int n_rows) override {
    const int rows = n_rows < 0 ? s.n_tokens : n_rows;
    const vk::DeviceMatrix& m = matrix(w);
    const Loc xl = twin(x), yl = twin(y);
    const vk::Buffer* b = bias && bias->present() ? &vector(*bias, w.n) : nullptr;
    matvec_.record(rec_, m, xl.buf, xl.off, yl.buf, yl.off, u32(rows));
    if (b) ops_.add_bias(rec_, yl.buf, yl.off, *b, 0, u32(w.n), u32(rows));
  }

  void head_rmsnorm(nn::Step& s, float* x, int64_t n_heads, int64_t head_dim, const nn::Vector& w,
                    float eps) override {
    const Loc xl = twin(x);
    ops_.rmsnorm(rec_, xl.buf, xl.off, &vector(w, head_dim), 0, xl.buf, xl.off, u32(head_dim),
                 u32(s.n_tokens * n_heads), eps);
  }

  void rope_rows(nn::Step& s, float* x, int64_t n_heads, int64_t head_dim,
                 const nn::Rope& rope) override {
    const Loc xl = twin(x);
    const int64_t width = n_heads * head_dim;
    if (cs_used_ + s.n_tokens * rope.n_rot > cs_cap_) throw util::Error("vulkan: RoPE table overflow");
    for (int t = 0; t < s.n_tokens; t++) {
      float* cs = static_cast<float*>(cs_.data()) + cs_used_ + t * rope.n_rot;
      nn::rope_cache(rope, static_cast<float>(s.pos[t]), cs);
      if (rope.yarn.mscale != 1.0f)
        for (int64_t i = 0; i < rope.n_rot; i++) cs[i] *= rope.yarn.mscale;
    }
    ops_.rope(rec_, xl.buf, xl.off, cs_, u32(cs_used_), u32(n_heads), u32(head_dim),
              u32(rope.n_rot), rope.mode == nn::RopeMode::kNeox, u32(s.n_tokens), u32(width),
              u32(rope.n_rot));
    cs_used_ += s.n_tokens * rope.n_rot;
  }

  void attention(nn::Step& s, int layer, const nn::Shape& sh, float scale,
                 nn::AttnOptions opt) override {
    const int64_t n_kv = sh.n_k();
    const Loc kl = twin(s.buf->k.data()), vl = twin(s.buf->v.data());
    const Loc ql = twin(s.buf->q.data()), ol = twin(s.buf->attn.data());
    const bool f16 = kv_.type() == KvType::kF16;
    const uint32_t back = u32(static_cast<int64_t>(layer) * n_batch_ * 2 * n_kv);
    ops_.kv_store(rec_, kl.buf, kl.off, k_cache_[layer], kv_back_, back, table_, u32(n_kv),
                  u32(s.n_tokens), f16);
    ops_.kv_store(rec_, vl.buf, vl.off, v_cache_[layer], kv_back_, back + u32(n_batch_ * n_kv),
                  table_, u32(n_kv), u32(s.n_tokens), f16);
    const vk::Buffer* sinks = opt.sinks ? &vector_at(opt.sinks, sh.n_head) : nullptr;
    const vk::VecOps::Attn a{u32(sh.n_head), u32(sh.n_head_kv), u32(sh.head_dim_k), u32(n_kv),
                             scale, u32(opt.window), opt.softcap};
    ops_.attention(rec_, a, ql.buf, ql.off, u32(sh.n_q()), k_cache_[layer], v_cache_[layer], pos_,
                   table_, 0, u32(s.n_tokens), sinks, ol.buf, ol.off,
                   u32(sh.n_head * sh.head_dim_v));
  }

  void add_rows(nn::Step& s, float* x, const float* proj, int64_t n) override {
    const Loc xl = twin(x), pl = twin(proj);
    ops_.add(rec_, xl.buf, xl.off, pl.buf, pl.off, xl.buf, xl.off, u32(n * s.n_tokens));
  }

  void ffn_gated(nn::Step& s, const nn::Matrix& gate, const nn::Matrix& up,
                 const nn::Matrix& down, nn::Act act) override {
    nn::Scratch& b = *s.buf;
    linear(s, gate, b.xn.data(), b.gate.data(), nullptr, -1);
    linear(s, up, b.xn.data(), b.up.data(), nullptr, -1);
    const Loc gl = twin(b.gate.data()), ul = twin(b.up.data());
    ops_.glu(rec_, act == nn::Act::kSilu ? vk::VecOps::Glu::kSilu : vk::VecOps::Glu::kGelu,
             gl.buf, gl.off, ul.buf, ul.off, gl.buf, gl.off, u32(gate.n * s.n_tokens));
    linear(s, down, b.gate.data(), b.proj.data(), nullptr, -1);
  }

  // gate_up [n_embd, 2 n_ff] into the wide rows, then silu(first half) * second half.
  void ffn_fused_swiglu(nn::Step& s, const nn::Matrix& gate_up, const nn::Matrix& down) override {
    nn::Scratch& b = *s.buf;
    const int64_t n_ff = gate_up.n / 2;
    linear(s, gate_up, b.xn.data(), b.wide.data(), nullptr, -1);
    const Loc wl = twin(b.wide.data()), gl = twin(b.gate.data());
    ops_.glu(rec_, vk::VecOps::Glu::kSilu, wl.buf, wl.off, wl.buf, u32(wl.off + n_ff), gl.buf,
             gl.off, u32(n_ff), {u32(s.n_tokens), u32(2 * n_ff), u32(2 * n_ff), u32(n_ff)});
    linear(s, down, b.gate.data(), b.proj.data(), nullptr, -1);
  }

  // The router runs here; DeviceMoe routes and runs the experts (engine/gpu/device_moe.h).
  void moe_ffn(nn::Step& s, const nn::MoeWeights& w, const nn::MoeParams& p) override {
    moe_.upload(w, p.n_expert);
    linear(s, *w.router, s.buf->xn.data(), s.buf->moe_logits.data(), w.router_b, -1);
    moe_.ffn(s, w, p);
  }

  void split_rows(nn::Step& s, const float* src, int64_t width,
                  std::initializer_list<nn::Slice> parts) override {
    const Loc sl = twin(src);
    int64_t off = 0;
    for (const nn::Slice& p : parts) {
      const Loc dl = twin(p.dst);
      ops_.copy_rows(rec_, sl.buf, u32(sl.off + off), dl.buf, dl.off, u32(p.width),
                     u32(s.n_tokens), u32(width), u32(p.width));
      off += p.width;
    }
  }

  void output_logits(nn::Step& s, const nn::Vector& norm, float eps, const nn::Matrix& output,
                     float softcap) override {
    softcap_ = softcap;
    if (s.n_out == 0) return;
    nn::Scratch& b = *s.buf;
    const int64_t n = output.k;
    const Loc xl = twin(b.x.data()), nl = twin(b.xn.data());
    for (int i = 0; i < s.n_out; i++) {
      ops_.rmsnorm(rec_, xl.buf, u32(xl.off + s.out_rows[i] * n), &vector(norm, n), 0, nl.buf,
                   u32(nl.off + i * n), u32(n), 1, eps);
    }
    // Logits buffers for as many outputs as a step has asked for so far (usually one per
    // sequence; no earlier command of this step refers to them).
    if (logits_rows_ < s.n_out) {
      logits_rows_ = s.n_out;
      logits_dev_ = vk::Buffer(dev_, logits_rows_ * output.n * 4, vk::Memory::kDevice);
      logits_out_ = vk::Buffer(dev_, logits_rows_ * output.n * 4, vk::Memory::kHost);
    }
    matvec_.record(rec_, matrix(output), nl.buf, nl.off, logits_dev_, 0, u32(s.n_out));
    rec_.copy(logits_dev_, logits_out_, static_cast<size_t>(s.n_out) * output.n * 4);
    want_logits_ = true;
  }

  void finish(nn::Step& s) override {
    rec_.submit_and_wait();
    if (want_logits_) {
      std::memcpy(s.logits, logits_out_.data(),
                  static_cast<size_t>(s.n_out) * shape_.n_vocab * sizeof(float));
      if (softcap_ > 0) nn::softcap(s.logits, s.n_out * shape_.n_vocab, softcap_);
      want_logits_ = false;
    }
    // The step's keys and values into the host cache (rounded the same way already).
    const int64_t n_kv = shape_.n_k();
    const auto* back = static_cast<const float*>(kv_back_.data());
    for (int64_t l = first_layer_; l < shape_.n_layer; l++) {
      const float* k = back + static_cast<size_t>(l) * n_batch_ * 2 * n_kv;
      const float* v = k + static_cast<size_t>(n_batch_) * n_kv;
      for (int t = 0; t < s.n_tokens; t++) {
        kv_.write(static_cast<int>(l), s.seq[t], s.cell[t], k + t * n_kv, v + t * n_kv);
      }
    }
  }

 private:
  struct Twin {
    const float* host;
    size_t n;
    vk::Buffer buf;
  };
  using Loc = DeviceRow;

  static uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

  // The device twin of the Scratch row that p points into, and p's offset in floats.
  Loc twin(const float* p) {
    for (Twin& t : twins_) {
      if (p >= t.host && p < t.host + t.n) return {t.buf, u32(p - t.host)};
    }
    throw util::Error("vulkan: a block used memory that has no device twin");
  }

  const vk::DeviceMatrix& matrix(const nn::Matrix& w) {
    auto it = matrices_.find(w.data);
    if (it != matrices_.end()) return it->second;
    const std::vector<uint8_t> plain = plain_rows(w);
    return matrices_
        .emplace(w.data, vk::upload(dev_, plain.empty() ? w.data : plain.data(), w.type, w.k, w.n))
        .first->second;
  }

  const vk::Buffer& vector(const nn::Vector& v, int64_t n) { return vector_at(v.data, n); }
  const vk::Buffer& vector_at(const float* data, int64_t n) {
    auto it = vectors_.find(data);
    if (it != vectors_.end()) return it->second;
    return vectors_.emplace(data, vk::upload_bytes(dev_, data, n * 4)).first->second;
  }

  // The device cache from the host cache: the used cells of the sequences edited since the
  // last step, one layer per submission.
  void rebuild_kv() {
    const int64_t hd = shape_.head_dim_k, n_kv = shape_.n_k(), n_ctx = kv_.n_ctx();
    const bool f16 = kv_.type() == KvType::kF16;
    std::vector<int> seqs;
    size_t cells = 0;
    for (int seq = 0; seq < kv_.n_seq(); seq++) {
      if (!dirty_[seq] || kv_.n_used(seq) == 0) continue;
      seqs.push_back(seq);
      cells += kv_.n_used(seq);
    }
    std::fill(dirty_.begin(), dirty_.end(), false);
    kv_dirty_ = false;
    if (cells == 0) return;
    vk::Buffer staging(dev_, 2 * cells * n_kv * 4, vk::Memory::kHost);
    auto get = [&](const void* base, size_t i) {
      return f16 ? ops::fp16_to_fp32(static_cast<const uint16_t*>(base)[i])
                 : static_cast<const float*>(base)[i];
    };
    for (int64_t l = first_layer_; l < shape_.n_layer; l++) {
      const int layer = static_cast<int>(l);
      float* dst = static_cast<float*>(staging.data());
      vk::Recorder up(dev_);
      size_t at = 0;  // floats into staging
      for (int seq : seqs) {
        const int used = kv_.n_used(seq);
        float* k = dst + at;
        float* v = k + static_cast<size_t>(used) * n_kv;
        for (int64_t h = 0; h < shape_.n_head_kv; h++) {
          const void* kr = kv_.k_rows(layer, seq, static_cast<int>(h));
          const void* vr = kv_.v_rows(layer, seq, static_cast<int>(h));
          for (int c = 0; c < used; c++) {
            for (int64_t d = 0; d < hd; d++) {
              k[c * n_kv + h * hd + d] = get(kr, static_cast<size_t>(c) * hd + d);
              v[c * n_kv + h * hd + d] = get(vr, static_cast<size_t>(d) * n_ctx + c);
            }
          }
        }
        const size_t bytes = static_cast<size_t>(used) * n_kv * 4;
        const size_t cell0 = static_cast<size_t>(seq) * n_ctx * n_kv * 4;
        up.copy(staging, k_cache_[l], bytes, at * 4, cell0);
        up.copy(staging, v_cache_[l], bytes, (at + used * n_kv) * 4, cell0);
        at += 2 * static_cast<size_t>(used) * n_kv;
      }
      up.submit_and_wait();
    }
  }

  vk::Device& dev_;
  nn::Shape shape_;
  kv::KvCache& kv_;
  int n_batch_;
  int first_layer_;  // layers before it run on the CPU
  vk::Matvec matvec_;
  vk::VecOps ops_;
  vk::Recorder rec_;
  std::vector<Twin> twins_;
  std::unordered_map<const void*, vk::DeviceMatrix> matrices_;
  std::unordered_map<const float*, vk::Buffer> vectors_;
  vk::Buffer x_in_, logits_dev_, logits_out_, cs_, pos_, kv_back_, table_;
  int logits_rows_ = 0;  // outputs the logits buffers hold
  std::vector<vk::Buffer> k_cache_, v_cache_;
  int64_t cs_cap_ = 0, cs_used_ = 0;
  bool kv_dirty_ = false, want_logits_ = false;
  float softcap_ = 0.0f;  // of the step's logits (output_logits), applied once they are back
  DeviceMoe moe_;
  std::vector<bool> dirty_;  // per sequence: edited on the host since the last step
};

}  // namespace

bool vulkan_built() { return true; }

uint64_t device_free_bytes() { return vk::Device::get().free_memory(); }

uint64_t device_submissions() { return vk::Device::get().submissions(); }

bool device_is_cpu(std::string* name) {
  const vk::Device& dev = vk::Device::get();
  *name = dev.info().name;
  return dev.info().is_cpu;
}

double device_bandwidth_gbs(size_t bytes, std::string* device_name) {
  vk::Device& dev = vk::Device::get();
  if (device_name) *device_name = dev.info().name;
  return vk::copy_bandwidth(dev, bytes, 8);
}

std::unique_ptr<DeviceBackend> make_vulkan_backend(const model::Arch& arch,
                                                   const std::string& arch_name,
                                                   const nn::Scratch& scratch, kv::KvCache& kv,
                                                   int n_batch, int first_layer) {
  if (!arch_supported(arch_name)) {
    throw util::Error("the GPU backend does not run the " + arch_name + " architecture yet",
                      util::ErrorKind::kUnsupported);
  }
  return std::make_unique<VulkanBackend>(arch, scratch, kv, n_batch, first_layer);
}

#endif

}  // namespace engine::gpu
