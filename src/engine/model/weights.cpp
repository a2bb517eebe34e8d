#include "engine/model/weights.h"

#include <cstdio>
#include <cstring>

#include "ops/matmul.h"
#include "util/error.h"
#include "util/mmap.h"
#include "util/thread_pool.h"

namespace engine::model {

int64_t Sizes::resolve(Dim d) const {
  switch (d) {
    case Dim::kOne:
      return 1;
    case Dim::kEmbd:
      return n_embd;
    case Dim::kVocab:
      return n_vocab;
    case Dim::kFf:
      return n_ff;
    case Dim::kFf2:
      return 2 * n_ff;
    case Dim::kQ:
      return n_head * head_dim;
    case Dim::kKv:
      return n_head_kv * head_dim;
    case Dim::kHeadDim:
      return head_dim;
    case Dim::kQkv:
      return (n_head + 2 * n_head_kv) * head_dim;
    case Dim::kRopePairs:
      return n_rot / 2;
    case Dim::kHead:
      return n_head;
    case Dim::kExpert:
      return n_expert;
    case Dim::kFfExp:
      return n_ff_exp;
  }
  return 0;
}

static std::string format_name(const char* pattern, int layer) {
  char buf[256];
  std::snprintf(buf, sizeof buf, pattern, layer);
  return buf;
}

static std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); i++) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

const gguf::TensorInfo* Binder::find(const std::vector<const char*>& names, int layer, Need need) {
  std::string tried;
  for (const char* pattern : names) {
    const std::string name = format_name(pattern, layer);
    if (const gguf::TensorInfo* t = file_.tensor(name)) return t;
    tried += (tried.empty() ? "'" : ", '") + name + "'";
  }
  if (need == Need::kOptional) return nullptr;
  throw util::bad_request(file_.path() + ": missing tensor " + tried + " (architecture '" +
                          file_.architecture() + "'); the file is incomplete or not a " +
                          file_.architecture() + " model");
}

void Binder::check_shape(const gguf::TensorInfo& t, Dim d0, Dim d1, Dim d2) const {
  std::vector<int64_t> want = {sizes_.resolve(d0), sizes_.resolve(d1)};
  if (d2 != Dim::kOne) want.push_back(sizes_.resolve(d2));
  std::vector<int64_t> got = t.dims;
  while (got.size() < want.size()) got.push_back(1);
  bool ok = true;
  for (size_t i = 0; i < want.size(); i++) ok = ok && got[i] == want[i];
  for (size_t i = want.size(); i < got.size(); i++) ok = ok && got[i] == 1;
  if (!ok) {
    throw util::bad_request(file_.path() + ": tensor '" + t.name + "' has shape " +
                            dims_text(t.dims) + ", expected " + dims_text(want) +
                            " from the model's hyper-parameters");
  }
}

Matrix Binder::matrix(const std::vector<const char*>& names, int layer, Dim d0, Dim d1, Need need) {
  const gguf::TensorInfo* t = find(names, layer, need);
  if (!t) return {};
  check_shape(*t, d0, d1);
  return checked_matrix(*t, t->dims.size() > 1 ? t->dims[1] : 1);
}

ExpertMatrix Binder::experts(const std::vector<const char*>& names, int layer, Dim d0, Dim d1,
                             Need need) {
  const gguf::TensorInfo* t = find(names, layer, need);
  if (!t) return {};
  check_shape(*t, d0, d1, Dim::kExpert);
  ExpertMatrix e;
  e.first = checked_matrix(*t, t->dims[1]);
  e.n_expert = t->dims[2];
  e.stride = ops::row_bytes(e.first.type, e.first.k) * static_cast<size_t>(e.first.n);
  return e;
}

Matrix Binder::checked_matrix(const gguf::TensorInfo& tr, int64_t n) const {
  const gguf::TensorInfo* t = &tr;
  const auto type = static_cast<ops::DType>(t->type);
  const ops::TypeInfo* ti = ops::type_info(t->type);
  const ops::Kernels* k = ops::kernels(type);
  if (!ti || !k || !k->vec_dot || !k->dequantize_row) {
    throw util::bad_request(file_.path() + ": tensor '" + t->name + "' has type " +
                            (ti ? ti->name : std::to_string(t->type)) +
                            ", which this engine has no kernels for yet");
  }
  if (t->dims[0] % ti->block_size != 0) {
    throw util::bad_request(file_.path() + ": tensor '" + t->name + "' row length " +
                            std::to_string(t->dims[0]) + " is not a multiple of the " + ti->name +
                            " block size");
  }
  return Matrix{t->data, type, t->dims[0], n, t->name.c_str()};
}

void Binder::vector(Vector& out, const std::vector<const char*>& names, int layer, Dim d0,
                    Need need, Dim d2) {
  out = Vector{};
  const gguf::TensorInfo* t = find(names, layer, need);
  if (!t) return;
  check_shape(*t, d0, d2);
  const auto type = static_cast<ops::DType>(t->type);
  out.n = t->dims[0] * sizes_.resolve(d2);
  if (type == ops::DType::F32) {
    out.data = reinterpret_cast<const float*>(t->data);
    return;
  }
  if (type != ops::DType::F16 && type != ops::DType::BF16) {
    throw util::bad_request(file_.path() + ": tensor '" + t->name +
                            "' must be F32, F16 or BF16 (it is a norm/bias vector)");
  }
  out.owned.resize(out.n);
  ops::dequantize_rows(t->data, type, out.n, 0, 1, out.owned.data());
  out.data = out.owned.data();
}

template <class Owner>
static void bind_row(Binder& b, Owner& owner, const TensorSpec<Owner>& spec, int layer) {
  if (auto* m = std::get_if<Matrix Owner::*>(&spec.field)) {
    owner.*(*m) = b.matrix(spec.names, layer, spec.d0, spec.d1, spec.need);
  } else if (auto* e = std::get_if<ExpertMatrix Owner::*>(&spec.field)) {
    owner.*(*e) = b.experts(spec.names, layer, spec.d0, spec.d1, spec.need);
  } else {
    b.vector(owner.*std::get<Vector Owner::*>(spec.field), spec.names, layer, spec.d0, spec.need,
             spec.d2);
  }
}

void Binder::bind(Weights& w, std::initializer_list<TensorSpec<Weights>> table) {
  for (const auto& spec : table) bind_row(*this, w, spec, -1);
}

void Binder::bind_layers(Weights& w, int64_t n_layer,
                         std::initializer_list<TensorSpec<LayerWeights>> table) {
  w.layers.resize(n_layer);
  for (int il = 0; il < n_layer; il++) {
    for (const auto& spec : table) bind_row(*this, w.layers[il], spec, il);
  }
  pack_rows(w);
}

void Binder::pack_rows(Weights& w) {
  std::unique_ptr<util::ThreadPool> pool_ptr;
  // One tensor's `count` matrices of `stride` bytes each (experts, or one dense matrix) into
  // huge-page memory, split over the CPUs (memory-bound work on gigabytes at load).
  const uint8_t* mapped = file_.data_section();
  auto in_file = [&](const uint8_t* p, size_t n) {
    return mapped != nullptr && p >= mapped && p + n <= mapped + file_.file_size();
  };
  auto pack = [&](Matrix& m, int64_t count, size_t stride, bool lookup = false) {
    const ops::Kernels* k = ops::kernels(m.type);
    const bool packs =
        lookup ? ops::packs_rows8_lookup(m.type, m.k, m.n) : ops::packs_rows8(m.type, m.k, m.n);
    const auto* src = static_cast<const uint8_t*>(m.data);
    const size_t bytes = stride * count;
    // Plain rows are only worth copying out of the file's pages (Kernels::rows_in_huge_pages).
    if (k == nullptr || !(packs || (k->rows_in_huge_pages && in_file(src, bytes)))) return;
    util::PageBuffer dst(bytes);
    if (dst.data() == nullptr) return;  // keep the file's rows: slower, not wrong
    if (!pool_ptr) pool_ptr = std::make_unique<util::ThreadPool>(util::available_cpus());
    if (!packs) {  // the same bytes, split over the CPUs
      auto job = [&](int ith, int nth) {
        const size_t b0 = bytes * ith / nth, b1 = bytes * (ith + 1) / nth;
        std::memcpy(dst.data() + b0, src + b0, b1 - b0);
      };
      pool_ptr->run(job);
    } else if (count > 1) {
      auto job = [&](int ith, int nth) {
        for (int64_t x = ith; x < count; x += nth)
          k->pack8(src + x * stride, dst.data() + x * stride, m.k, m.n);
      };
      pool_ptr->run(job);
    } else {  // one matrix: its groups of rows split over the CPUs
      const size_t group = ops::row_bytes(m.type, m.k) * k->pack_rows;
      const int64_t groups = m.n / k->pack_rows;
      auto job = [&](int ith, int nth) {
        const int64_t g0 = groups * ith / nth, g1 = groups * (ith + 1) / nth;
        if (g1 > g0)
          k->pack8(src + g0 * group, dst.data() + g0 * group, m.k, (g1 - g0) * k->pack_rows);
      };
      pool_ptr->run(job);
    }
    if (in_file(src, bytes)) util::release_pages(src, bytes);  // never heap
    m.data = dst.data();
    if (packs) m.layout = ops::Layout::kRows8;
    w.packed.push_back(std::move(dst));
  };
  // The output projection: an untied one as any matrix; a tied one (arches tie it after this,
  // when the file has no output tensor) is the embedding, whose rows are also looked up one
  // by one, unpacked (ops::dequantize_row with the layout).
  if (w.output.present() && w.output.data != w.token_embd.data) {
    pack(w.output, 1, ops::row_bytes(w.output.type, w.output.k) * w.output.n);
  } else if (!w.output.present() && w.token_embd.present()) {
    pack(w.token_embd, 1, ops::row_bytes(w.token_embd.type, w.token_embd.k) * w.token_embd.n,
         /*lookup=*/true);
  }
  for (LayerWeights& l : w.layers) {
    for (ExpertMatrix* e : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps})
      if (e->present()) pack(e->first, e->n_expert, e->stride);
    // The dense matrices every decoder runs through nn::linear (not the fused wqkv, whose
    // thirds are views).
    for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      if (m->data != nullptr) pack(*m, 1, ops::row_bytes(m->type, m->k) * m->n);
  }
}

}  // namespace engine::model
