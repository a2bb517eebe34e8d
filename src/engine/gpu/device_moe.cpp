#include "engine/gpu/device_moe.h"

#ifdef OLLAMA_HAVE_VULKAN
#include <cstring>

#include "ops/kernels_impl.h"
#include "util/error.h"

namespace engine::gpu {

namespace {

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

vk::VecOps::Glu glu_of(const nn::MoeParams& p) {
  return p.act == nn::ExpertAct::kSwiglu ? vk::VecOps::Glu::kSilu : vk::VecOps::Glu::kSwigluOai;
}

}  // namespace

std::vector<uint8_t> plain_rows(const nn::Matrix& w) {
  std::vector<uint8_t> plain;
  if (w.layout != ops::Layout::kRows8) return plain;
  const ops::Kernels* kt = ops::kernels(w.type);
  if (kt == nullptr || kt->unpack8 == nullptr)
    throw util::Error("vulkan: packed weights without an unpack kernel");
  const size_t rb = ops::row_bytes(w.type, w.k);
  const int64_t pr = kt->pack_rows;
  plain.resize(rb * w.n);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t r = 0; r < w.n; r++)
    kt->unpack8(base + (r / pr) * pr * rb, static_cast<int>(r % pr), plain.data() + r * rb, w.k);
  return plain;
}

DeviceMoe::DeviceMoe(vk::Device& dev, vk::Matvec& matvec, vk::VecOps& ops, vk::Recorder& rec,
                     const nn::Shape& sh, int n_batch, std::function<DeviceRow(const float*)> twin)
    : dev_(dev),
      matvec_(matvec),
      ops_(ops),
      rec_(rec),
      n_batch_(n_batch),
      twin_(std::move(twin)) {
  if (sh.n_expert > 0) {  // sized now, so a step does not allocate
    back_ = vk::Buffer(dev_, n_batch * sh.n_expert * 4, vk::Memory::kHost);
    table_ = vk::Buffer(dev_, 2 * n_batch * sh.n_expert_used * 4, vk::Memory::kHost);
    route_ = vk::Buffer(dev_, 2 * n_batch * sh.n_expert_used * 4, vk::Memory::kDevice);
  }
}

void DeviceMoe::upload(const nn::MoeWeights& w, int64_t ne) {
  if (experts_.count(w.gate->first.data)) return;
  Experts ex;
  ex.f = w.gate->first.n;
  ex.gate = &stacked(*w.gate, ne);
  ex.up = &stacked(*w.up, ne);
  ex.down = &stacked(*w.down, ne);
  ex.gate_b = bias(w.gate_b, ex.f * ne);
  ex.up_b = bias(w.up_b, ex.f * ne);
  ex.down_b = bias(w.down_b, w.router->k * ne);
  experts_.emplace(w.gate->first.data, ex);
}

// Every expert's rows of a 3-D tensor as one [k, n_expert * rows] matrix.
const vk::DeviceMatrix& DeviceMoe::stacked(const nn::ExpertMatrix& em, int64_t ne) {
  const nn::Matrix& m0 = em.first;
  const size_t rb = ops::row_bytes(m0.type, m0.k), bytes = rb * m0.n;
  std::vector<uint8_t> plain;
  const void* rows = m0.data;
  if (m0.layout != ops::Layout::kRows || em.stride != bytes) {  // packed or apart: gather
    plain.resize(bytes * ne);
    for (int64_t e = 0; e < ne; e++) {
      const nn::Matrix me = em.expert(e);
      const std::vector<uint8_t> one = plain_rows(me);
      std::memcpy(plain.data() + e * bytes, one.empty() ? me.data : one.data(), bytes);
    }
    rows = plain.data();
  }
  return matrices_.emplace(m0.data, vk::upload(dev_, rows, m0.type, m0.k, m0.n * ne))
      .first->second;
}

const vk::Buffer* DeviceMoe::bias(const nn::Vector* v, int64_t n) {
  if (v == nullptr || !v->present()) return nullptr;
  return &biases_.emplace(v->data, vk::upload_bytes(dev_, v->data, n * 4)).first->second;
}

void DeviceMoe::ffn(nn::Step& s, const nn::MoeWeights& w, const nn::MoeParams& p) {
  const auto it = experts_.find(w.gate->first.data);
  if (it == experts_.end()) throw util::Error("vulkan: a MoE layer's experts were not uploaded");
  const int64_t pairs = static_cast<int64_t>(s.n_tokens) * p.n_used;
  if (s.n_tokens <= kDeviceRouteTokens && pairs <= n_batch_ && p.n_used <= vk::VecOps::kMaxExpertsUsed) {
    routed_on_device(s, p, it->second, w.router->k);
  } else {
    grouped_on_host(s, p, it->second, w.router->k);
  }
}

// Pairs q = token * k + slot: the ids in route_ from 0, the weights from n * k.
void DeviceMoe::routed_on_device(nn::Step& s, const nn::MoeParams& p, const Experts& ex,
                                 int64_t d) {
  nn::Scratch& b = *s.buf;
  const uint32_t n = u32(s.n_tokens), k = u32(p.n_used), pairs = n * k;
  const DeviceRow ll = twin_(b.moe_logits.data()), xl = twin_(b.xn.data());
  const DeviceRow pl = twin_(b.proj.data()), gl = twin_(b.moe_g.data());
  const DeviceRow ul = twin_(b.moe_u.data()), yl = twin_(b.moe_y.data());
  ops_.moe_route(rec_, ll.buf, ll.off, n, u32(p.n_expert), k,
                 p.gating == nn::Gating::kTopKSoftmax ? 0u : 1u, p.norm_topk, route_, 0);
  vk::Matvec::ExpertRows er;
  er.rows = ex.f;
  er.ids = &route_;
  er.n_used = k;
  er.x_per_pair = false;  // gate and up read the pair's token
  matvec_.record_experts(rec_, *ex.gate, er, xl.buf, xl.off, gl.buf, gl.off, pairs);
  matvec_.record_experts(rec_, *ex.up, er, xl.buf, xl.off, ul.buf, ul.off, pairs);
  if (ex.gate_b) ops_.expert_bias(rec_, gl.buf, gl.off, *ex.gate_b, 0, route_, 0, u32(ex.f), pairs);
  if (ex.up_b) ops_.expert_bias(rec_, ul.buf, ul.off, *ex.up_b, 0, route_, 0, u32(ex.f), pairs);
  ops_.glu(rec_, glu_of(p), gl.buf, gl.off, ul.buf, ul.off, gl.buf, gl.off, u32(ex.f * pairs), {},
           p.alpha, p.limit);
  er.rows = d;
  er.x_per_pair = true;  // down reads the pair's own row
  matvec_.record_experts(rec_, *ex.down, er, gl.buf, gl.off, yl.buf, yl.off, pairs);
  if (ex.down_b) ops_.expert_bias(rec_, yl.buf, yl.off, *ex.down_b, 0, route_, 0, u32(d), pairs);
  ops_.moe_combine(rec_, yl.buf, yl.off, route_, pairs, pl.buf, pl.off, u32(d), k, n);
}

void DeviceMoe::grouped_on_host(nn::Step& s, const nn::MoeParams& p, const Experts& ex,
                                int64_t d) {
  nn::Scratch& b = *s.buf;
  const int n = s.n_tokens;
  const DeviceRow ll = twin_(b.moe_logits.data());
  const size_t logit_bytes = static_cast<size_t>(n) * p.n_expert * 4;
  if (back_.size() < logit_bytes) back_ = vk::Buffer(dev_, logit_bytes, vk::Memory::kHost);
  rec_.copy(ll.buf, back_, logit_bytes, ll.off * 4, 0);
  rec_.submit_and_wait();
  std::memcpy(b.moe_logits.data(), back_.data(), logit_bytes);
  nn::moe_route(b.moe_logits.data(), n, p, b.moe_sel.data(), b.moe_w.data());
  nn::moe_group(b.moe_sel.data(), b.moe_w.data(), n, p, b.moe_start.data(), b.moe_fill.data(),
                b.moe_tokens.data(), b.moe_tw.data());
  // The grouped tokens, then their weights, for the gather and scatter shaders.
  const size_t nk = static_cast<size_t>(n) * p.n_used;
  if (table_.size() < 2 * nk * 4) table_ = vk::Buffer(dev_, 2 * nk * 4, vk::Memory::kHost);
  auto* table = static_cast<int32_t*>(table_.data());
  std::memcpy(table, b.moe_tokens.data(), nk * 4);
  std::memcpy(table + nk, b.moe_tw.data(), nk * 4);
  const DeviceRow pl = twin_(b.proj.data()), xl = twin_(b.xn.data()), ml = twin_(b.moe_x.data());
  const DeviceRow gl = twin_(b.moe_g.data()), ul = twin_(b.moe_u.data()), yl = twin_(b.moe_y.data());
  rec_.fill(pl.buf, pl.off * 4, static_cast<size_t>(n) * d * 4, 0);
  for (int64_t e = 0; e < p.n_expert; e++) {
    const int32_t first = b.moe_start[e], m = b.moe_start[e + 1] - first;
    if (m == 0) continue;
    ops_.gather_rows(rec_, xl.buf, xl.off, u32(d), table_, u32(first), ml.buf, ml.off, u32(d),
                     u32(m));
    vk::Matvec::ExpertRows er;
    er.rows = ex.f;
    er.expert = static_cast<int32_t>(e);
    matvec_.record_experts(rec_, *ex.gate, er, ml.buf, ml.off, gl.buf, gl.off, u32(m));
    matvec_.record_experts(rec_, *ex.up, er, ml.buf, ml.off, ul.buf, ul.off, u32(m));
    if (ex.gate_b) ops_.add_bias(rec_, gl.buf, gl.off, *ex.gate_b, u32(e * ex.f), u32(ex.f), u32(m));
    if (ex.up_b) ops_.add_bias(rec_, ul.buf, ul.off, *ex.up_b, u32(e * ex.f), u32(ex.f), u32(m));
    ops_.glu(rec_, glu_of(p), gl.buf, gl.off, ul.buf, ul.off, gl.buf, gl.off, u32(ex.f * m), {},
             p.alpha, p.limit);
    er.rows = d;
    matvec_.record_experts(rec_, *ex.down, er, gl.buf, gl.off, yl.buf, yl.off, u32(m));
    if (ex.down_b) ops_.add_bias(rec_, yl.buf, yl.off, *ex.down_b, u32(e * d), u32(d), u32(m));
    ops_.scatter_axpy(rec_, yl.buf, yl.off, table_, u32(first), u32(nk), pl.buf, pl.off, u32(d),
                      u32(d), u32(m));
  }
}

}  // namespace engine::gpu
#endif
