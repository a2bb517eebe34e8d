// Tiny random Mixture-of-Experts models (qwen3moe, and gpt-oss in shapes other than the
// llama.cpp references) written with the project's GGUF writer and checked against a
// straightforward double-precision implementation of the same math written here: routing
// (softmax-then-top-k with and without renormalization, top-k-then-softmax), SwiGLU and
// gpt-oss's clamped SwiGLU with biases, q/k norms, attention sinks, YaRN, sliding windows.
// Also: one batch equals token-by-token decoding (experts grouped over many tokens vs one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include "api/status.h"
#include "engine/engine.h"
#include "engine/gpu/device_backend.h"
#include "engine/gguf/writer.h"
#include "gguf_test_util.h"
#include "ops/types.h"
#include "random_weights.h"
#include "util/error.h"

namespace {

using Vec = std::vector<double>;

struct Cfg {
  bool gptoss = false;
  int vocab = 96, embd = 32, layers = 2, heads = 4, heads_kv = 2, head_dim = 16, ff = 24;
  int experts = 6, used = 3, swa = 0;
  bool norm_topk = true;
  double rope_base = 1e6, eps = 1e-6, yarn_factor = 0;  // 0: no YaRN
  int yarn_orig = 0;
  unsigned seed = 1;
};

struct RandomMoe : engine_test::RandomWeights {
  Cfg c;
  double min_margin = 1e300;  // smallest gap between the k-th and (k+1)-th routing score

  explicit RandomMoe(const Cfg& cfg) : RandomWeights(cfg.seed), c(cfg) { build(); }

  void build() {
    const int q = c.heads * c.head_dim, kv = c.heads_kv * c.head_dim;
    add("token_embd.weight", {c.embd, c.vocab}, 1.0);
    add("output_norm.weight", {c.embd}, 0.1, 1.0);
    if (c.gptoss) add("output.weight", {c.embd, c.vocab}, 1.0 / std::sqrt(c.embd));
    const double w = 1.0 / std::sqrt(double(c.embd));
    for (int i = 0; i < c.layers; i++) {
      const std::string p = "blk." + std::to_string(i) + ".";
      add(p + "attn_norm.weight", {c.embd}, 0.1, 1.0);
      add(p + "attn_q.weight", {c.embd, q}, 2 * w);
      add(p + "attn_k.weight", {c.embd, kv}, 2 * w);
      add(p + "attn_v.weight", {c.embd, kv}, w);
      add(p + "attn_output.weight", {q, c.embd}, 1.0 / std::sqrt(double(q)));
      add(p + "ffn_gate_inp.weight", {c.embd, c.experts}, 3 * w);
      add(p + "ffn_gate_exps.weight", {c.embd, c.ff, c.experts}, 2 * w);
      add(p + "ffn_up_exps.weight", {c.embd, c.ff, c.experts}, 2 * w);
      add(p + "ffn_down_exps.weight", {c.ff, c.embd, c.experts}, 1.0 / std::sqrt(double(c.ff)));
      if (c.gptoss) {
        add(p + "attn_q.bias", {q}, 0.2);
        add(p + "attn_k.bias", {kv}, 0.2);
        add(p + "attn_v.bias", {kv}, 0.2);
        add(p + "attn_output.bias", {c.embd}, 0.2);
        add(p + "attn_sinks.weight", {c.heads}, 1.0);
        add(p + "post_attention_norm.weight", {c.embd}, 0.1, 1.0);
        add(p + "ffn_gate_inp.bias", {c.experts}, 0.5);
        add(p + "ffn_gate_exps.bias", {c.ff, c.experts}, 0.5);
        add(p + "ffn_up_exps.bias", {c.ff, c.experts}, 0.5);
        add(p + "ffn_down_exps.bias", {c.embd, c.experts}, 0.2);
      } else {
        add(p + "attn_q_norm.weight", {c.head_dim}, 0.1, 1.0);
        add(p + "attn_k_norm.weight", {c.head_dim}, 0.1, 1.0);
        add(p + "ffn_norm.weight", {c.embd}, 0.1, 1.0);
      }
    }
  }

  // GGUF with `edit` applied before writing (for the bad-file tests).
  template <class F>
  void write(const std::string& path, F edit) const {
    gguf::Writer w;
    const std::string a = c.gptoss ? "gpt-oss" : "qwen3moe";
    w.set_string("general.architecture", a);
    w.set_u32(a + ".context_length", 4096);
    w.set_u32(a + ".embedding_length", c.embd);
    w.set_u32(a + ".block_count", c.layers);
    w.set_u32(a + ".feed_forward_length", c.gptoss ? c.ff : 3 * c.ff);
    w.set_u32(a + ".expert_feed_forward_length", c.ff);
    w.set_u32(a + ".expert_count", c.experts);
    w.set_u32(a + ".expert_used_count", c.used);
    w.set_u32(a + ".attention.head_count", c.heads);
    w.set_u32(a + ".attention.head_count_kv", c.heads_kv);
    w.set_u32(a + ".attention.key_length", c.head_dim);
    w.set_u32(a + ".attention.value_length", c.head_dim);
    w.set_u32(a + ".rope.dimension_count", c.head_dim);
    w.set_f32(a + ".rope.freq_base", static_cast<float>(c.rope_base));
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.eps));
    if (!c.gptoss) w.set_bool(a + ".expert_weights_norm", c.norm_topk);
    if (c.swa > 0) w.set_u32(a + ".attention.sliding_window", c.swa);
    if (c.yarn_factor > 0) {
      w.set_string(a + ".rope.scaling.type", "yarn");
      w.set_f32(a + ".rope.scaling.factor", static_cast<float>(c.yarn_factor));
      w.set_u32(a + ".rope.scaling.original_context_length", c.yarn_orig);
    }
    add_tensors(w);
    edit(w);
    w.write(path);
  }

  // ---- the reference, in double precision ----
  const Vec& W(const std::string& n) const { return t.at(n); }
  // y[j] = sum_i M[off + j*k + i] x[i]: GGUF [k, n] stores n rows of k (off: expert slice).
  static Vec lin(const Vec& m, const Vec& x, size_t rows, size_t off = 0) {
    Vec y(rows, 0.0);
    for (size_t j = 0; j < rows; j++)
      for (size_t i = 0; i < x.size(); i++) y[j] += m[off + j * x.size() + i] * x[i];
    return y;
  }
  Vec lin(const std::string& n, const Vec& x, const std::string& bias = "") const {
    const Vec& m = W(n);
    Vec y = lin(m, x, m.size() / x.size());
    if (!bias.empty())
      for (size_t j = 0; j < y.size(); j++) y[j] += W(bias)[j];
    return y;
  }
  Vec rms(Vec x, const Vec& w, size_t off = 0, size_t len = 0) const {
    if (len == 0) len = x.size();
    double ss = 0;
    for (size_t i = off; i < off + len; i++) ss += x[i] * x[i];
    const double r = 1.0 / std::sqrt(ss / len + c.eps);
    for (size_t i = off; i < off + len; i++) x[i] = x[i] * r * w[i - off];
    return x;
  }
  // NeoX pairs (i, i + d/2) in each head; YaRN as llama.cpp applies it (README, gpt-oss).
  void rope(Vec& x, int n_heads, int pos) const {
    const int d = c.head_dim;
    double mscale = 1.0, low = 0, high = 0;
    if (c.yarn_factor > 0) {
      mscale = 1.0 + 0.1 * std::log(c.yarn_factor);
      auto corr = [&](double b) {
        return d * std::log(c.yarn_orig / (b * 2 * M_PI)) / (2 * std::log(c.rope_base));
      };
      low = std::max(0.0, std::floor(corr(32)));
      high = std::min(double(d - 1), std::ceil(corr(1)));
    }
    for (int h = 0; h < n_heads; h++) {
      for (int i = 0; i < d / 2; i++) {
        double theta = pos * std::pow(c.rope_base, -2.0 * i / d);
        if (c.yarn_factor > 0) {
          const double ramp = 1 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
          theta = theta / c.yarn_factor * (1 - ramp) + theta * ramp;
        }
        double& a = x[h * d + i];
        double& b = x[h * d + i + d / 2];
        const double a0 = a, b0 = b, cs = std::cos(theta) * mscale, sn = std::sin(theta) * mscale;
        a = a0 * cs - b0 * sn;
        b = a0 * sn + b0 * cs;
      }
    }
  }
  Vec moe(const std::string& p, const Vec& x) {
    Vec r = lin(p + "ffn_gate_inp.weight", x, c.gptoss ? p + "ffn_gate_inp.bias" : "");
    if (!c.gptoss) {  // softmax over all experts first
      const double mx = *std::max_element(r.begin(), r.end());
      double s = 0;
      for (auto& v : r) s += (v = std::exp(v - mx));
      for (auto& v : r) v /= s;
    }
    std::vector<int> order(c.experts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return r[a] > r[b]; });
    if (c.used < c.experts)
      min_margin = std::min(min_margin, r[order[c.used - 1]] - r[order[c.used]]);
    Vec wts(c.used);
    for (int j = 0; j < c.used; j++) wts[j] = r[order[j]];
    if (c.gptoss) {  // softmax over the selected logits only
      const double mx = wts[0];
      double s = 0;
      for (auto& v : wts) s += (v = std::exp(v - mx));
      for (auto& v : wts) v /= s;
    } else if (c.norm_topk) {
      const double s = std::accumulate(wts.begin(), wts.end(), 0.0);
      for (auto& v : wts) v /= s;
    }
    Vec out(c.embd, 0.0);
    for (int j = 0; j < c.used; j++) {
      const int e = order[j];
      Vec g = lin(W(p + "ffn_gate_exps.weight"), x, c.ff, size_t(e) * c.ff * c.embd);
      Vec u = lin(W(p + "ffn_up_exps.weight"), x, c.ff, size_t(e) * c.ff * c.embd);
      for (int i = 0; i < c.ff; i++) {
        if (c.gptoss) {
          const double a = std::min(g[i] + W(p + "ffn_gate_exps.bias")[e * c.ff + i], 7.0);
          const double b = std::clamp(u[i] + W(p + "ffn_up_exps.bias")[e * c.ff + i], -7.0, 7.0);
          g[i] = a / (1 + std::exp(-1.702 * a)) * (b + 1);
        } else {
          g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
        }
      }
      Vec y = lin(W(p + "ffn_down_exps.weight"), g, c.embd, size_t(e) * c.embd * c.ff);
      for (int i = 0; i < c.embd; i++) {
        if (c.gptoss) y[i] += W(p + "ffn_down_exps.bias")[e * c.embd + i];
        out[i] += wts[j] * y[i];
      }
    }
    return out;
  }
  std::vector<Vec> logits(const std::vector<int32_t>& ids) {
    const size_t n = ids.size();
    const int d = c.head_dim, group = c.heads / c.heads_kv;
    std::vector<Vec> x(n);
    for (size_t i = 0; i < n; i++) {
      const Vec& e = W("token_embd.weight");
      x[i] = Vec(e.begin() + size_t(ids[i]) * c.embd, e.begin() + size_t(ids[i] + 1) * c.embd);
    }
    for (int il = 0; il < c.layers; il++) {
      const std::string p = "blk." + std::to_string(il) + ".";
      const bool sliding = c.gptoss && c.swa > 0 && il % 2 == 0;
      std::vector<Vec> q(n), k(n), v(n);
      for (size_t i = 0; i < n; i++) {
        const Vec xn = rms(x[i], W(p + "attn_norm.weight"));
        q[i] = lin(p + "attn_q.weight", xn, c.gptoss ? p + "attn_q.bias" : "");
        k[i] = lin(p + "attn_k.weight", xn, c.gptoss ? p + "attn_k.bias" : "");
        v[i] = lin(p + "attn_v.weight", xn, c.gptoss ? p + "attn_v.bias" : "");
        if (!c.gptoss) {
          for (int h = 0; h < c.heads; h++) q[i] = rms(q[i], W(p + "attn_q_norm.weight"), h * d, d);
          for (int h = 0; h < c.heads_kv; h++)
            k[i] = rms(k[i], W(p + "attn_k_norm.weight"), h * d, d);
        }
        rope(q[i], c.heads, int(i));
        rope(k[i], c.heads_kv, int(i));
      }
      for (size_t i = 0; i < n; i++) {
        Vec att(size_t(c.heads) * d, 0.0);
        for (int h = 0; h < c.heads; h++) {
          const int hk = h / group;
          Vec s(i + 1, -INFINITY);
          double mx = c.gptoss ? W(p + "attn_sinks.weight")[h] : -1e300;
          for (size_t j = 0; j <= i; j++) {
            if (sliding && i - j >= size_t(c.swa)) continue;
            s[j] = 0;
            for (int t2 = 0; t2 < d; t2++) s[j] += q[i][h * d + t2] * k[j][hk * d + t2];
            s[j] /= std::sqrt(double(d));
            mx = std::max(mx, s[j]);
          }
          double sum = c.gptoss ? std::exp(W(p + "attn_sinks.weight")[h] - mx) : 0.0;
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (size_t j = 0; j <= i; j++)
            for (int t2 = 0; t2 < d; t2++) att[h * d + t2] += s[j] / sum * v[j][hk * d + t2];
        }
        Vec o = lin(p + "attn_output.weight", att, c.gptoss ? p + "attn_output.bias" : "");
        for (int t2 = 0; t2 < c.embd; t2++) o[t2] += x[i][t2];
        const Vec hn = rms(o, W(p + (c.gptoss ? "post_attention_norm.weight" : "ffn_norm.weight")));
        const Vec f = moe(p, hn);
        for (int t2 = 0; t2 < c.embd; t2++) o[t2] += f[t2];
        q[i].clear();  // keep k/v of earlier tokens; x[i] is replaced once all tokens attended
        att.swap(o);
        x[i].swap(att);
      }
    }
    std::vector<Vec> out(n);
    for (size_t i = 0; i < n; i++) {
      const Vec xn = rms(x[i], W("output_norm.weight"));
      out[i] = lin(c.gptoss ? "output.weight" : "token_embd.weight", xn);
    }
    return out;
  }
};

std::vector<int32_t> tokens(int n, int vocab, unsigned seed) {
  std::mt19937 r(seed);
  std::vector<int32_t> ids(n);
  for (auto& t : ids) t = static_cast<int32_t>(r() % vocab);
  return ids;
}

struct Case {
  const char* name;
  Cfg cfg;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Cfg qwen3moe(bool norm, unsigned seed) {
  Cfg c;
  c.norm_topk = norm;
  c.seed = seed;
  return c;
}
Cfg gptoss(int embd, int heads, int experts, int used, unsigned seed) {
  Cfg c;
  c.gptoss = true;
  c.embd = embd;
  c.heads = heads;
  c.experts = experts;
  c.used = used;
  c.layers = 3;
  c.swa = 5;
  c.rope_base = 150000;
  c.eps = 1e-5;
  c.yarn_factor = 32;
  c.yarn_orig = 4096;
  c.seed = seed;
  return c;
}

class MoeRandom : public ::testing::TestWithParam<Case> {};

TEST_P(MoeRandom, MatchesDoublePrecisionReference) {
  RandomMoe m(GetParam().cfg);
  gguf_test::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  m.write(path, [](gguf::Writer&) {});
  auto model = engine::Model::load(path, {.n_threads = 2, .load_tokenizer = false});
  const int nv = m.c.vocab;
  ASSERT_EQ(model->n_vocab(), nv);
  const auto ids = tokens(21, nv, m.c.seed + 100);
  const auto want = m.logits(ids);
  // Routing is discrete: a near-tie would make float and double pick different experts.
  // (qwen3moe's gap is between probabilities, gpt-oss's between raw logits.)
  ASSERT_GT(m.min_margin, m.c.gptoss ? 1e-3 : 1e-5) << "seed gives a routing near-tie";

  // On the CPU, and on the GPU backend where the build has one: the 21-token batch routes on
  // the host and groups tokens by expert, the one-token steps route on the device.
  for (bool gpu : {false, true}) {
    if (gpu && !engine::gpu::vulkan_built()) continue;
    SCOPED_TRACE(gpu ? "GPU" : "CPU");
    auto ctx = model->new_context(
        {.n_ctx = 64, .n_seq_max = 1, .kv_type = engine::KvType::kF32, .gpu = gpu});
    engine::Batch b;
    for (size_t i = 0; i < ids.size(); i++) b.add(ids[i], int32_t(i), 0, true);
    ctx->decode(b);
    double worst = 0;
    for (size_t i = 0; i < ids.size(); i++)
      for (int v = 0; v < nv; v++)
        worst = std::max(worst, std::fabs(ctx->logits(int(i))[v] - want[i][v]));
    std::printf("%s%s: max |float - double| %.3g, min routing margin %.3g\n", GetParam().name,
                gpu ? " (GPU)" : "", worst, m.min_margin);
    EXPECT_LT(worst, 2e-4);

    // Token by token (each expert sees one token) gives the same logits as the batch
    // (experts grouped over every token routed to them).
    ctx->kv_clear();
    double step_worst = 0;
    for (size_t i = 0; i < ids.size(); i++) {
      b.clear();
      b.add(ids[i], int32_t(i), 0, true);
      const uint64_t submitted = gpu ? engine::gpu::device_submissions() : 0;
      ctx->decode(b);
      // Routed on the device: a decode step is one submission, no round trip per MoE layer
      // (the first after kv_clear also syncs the device's cache).
      if (gpu && i > 0) EXPECT_EQ(engine::gpu::device_submissions() - submitted, 1u) << "token " << i;
      for (int v = 0; v < nv; v++)
        step_worst = std::max(step_worst, std::fabs(ctx->logits(0)[v] - want[i][v]));
    }
    EXPECT_LT(step_worst, 2e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, MoeRandom,
                         ::testing::Values(Case{"qwen3moe_norm", qwen3moe(true, 3)},
                                           Case{"qwen3moe_no_norm", qwen3moe(false, 12)},
                                           Case{"gptoss_e48_x8_top3", gptoss(48, 6, 8, 3, 2)},
                                           Case{"gptoss_e32_x16_top4", gptoss(32, 4, 16, 4, 2)},
                                           Case{"gptoss_e32_x3_top1", gptoss(32, 4, 3, 1, 6)}),
                         [](const auto& info) { return std::string(info.param.name); });

// A bad MoE file is a clear 400 naming what is wrong, never a crash.
std::string load_error(const std::string& path) {
  try {
    engine::Model::load(path, {.n_threads = 1, .load_tokenizer = false});
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "loaded";
  return "";
}

TEST(MoeBadFile, ClearErrors) {
  gguf_test::ScratchDir dir;
  for (bool gpt : {false, true}) {
    Cfg c = gpt ? gptoss(32, 4, 4, 2, 9) : qwen3moe(true, 9);
    RandomMoe m(c);
    const std::string a = gpt ? "gpt-oss" : "qwen3moe";
    const std::string p = dir.file("bad.gguf");
    // expert_count disagrees with the expert tensors
    m.write(p, [&](gguf::Writer& w) { w.set_u32(a + ".expert_count", 8); });
    EXPECT_NE(load_error(p).find("ffn_gate_inp"), std::string::npos);
    // top-k larger than the expert count
    m.write(p, [&](gguf::Writer& w) { w.set_u32(a + ".expert_used_count", c.experts + 1); });
    EXPECT_NE(load_error(p).find("expert_used_count"), std::string::npos);
    // no experts at all
    m.write(p, [&](gguf::Writer& w) { w.set_u32(a + ".expert_count", 0); });
    EXPECT_NE(load_error(p).find("expert_count"), std::string::npos);
    // a missing expert tensor
    m.write(p, [&](gguf::Writer& w) { w.remove_tensor("blk.1.ffn_up_exps.weight"); });
    EXPECT_NE(load_error(p).find("blk.1.ffn_up_exps.weight"), std::string::npos);
    // an expert tensor of the wrong shape (one expert too few)
    m.write(p, [&](gguf::Writer& w) {
      std::vector<uint8_t> bytes(size_t(c.embd) * c.ff * (c.experts - 1) * 4);
      w.replace_tensor("blk.0.ffn_down_exps.weight", {c.ff, c.embd, c.experts - 1},
                       static_cast<uint32_t>(ops::DType::F32), std::move(bytes));
    });
    EXPECT_NE(load_error(p).find("blk.0.ffn_down_exps.weight"), std::string::npos);
  }
}

}  // namespace
