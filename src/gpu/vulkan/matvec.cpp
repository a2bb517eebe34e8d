#include "gpu/vulkan/matvec.h"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gpu/vulkan/kernel_cache.h"
#include "ops/kernels_impl.h"
#include "util/error.h"

namespace gpu::vk {

namespace {

struct Push {
  uint32_t k, n, scale_off, x_off, y_off, x_stride, y_stride;
};
struct MatmatPush {
  uint32_t k, n, scale_off, x_off, y_off, x_stride, y_stride, n_tokens, row0;
};
struct ExpertPush {
  uint32_t k, n, scale_off, x_off, y_off, x_stride, y_stride, n_used, x_per_pair;
  int32_t expert;
  uint32_t ids_off;
};
struct QuantizePush {
  uint32_t k, block, x_off, round_d, x_stride;
};

// How a type's blocks are laid out for its shader: code_words > 0: 32-element blocks split
// into code words, then the fp16 scales two to a word; otherwise a quantized type's blocks
// are copied as they are, each padded to whole words (slot_words), and a float type's rows
// as they are. act_block: the shader takes activations quantized per 32 (Q8_0, d rounded to
// fp16) or 256 (Q8_K), the CPU's activation type for this weight type; 0: float activations.
struct TypeLayout {
  const char* shader;
  uint32_t code_words;
  const char* matmat = nullptr;  // the prompt tiles' shader (matmat.glsl), if the type has one
  uint32_t slot_elems = 0, slot_words = 0, act_block = 0;
};

// The types with a shader; the rest of each layout follows from the type table.
struct TypeShader {
  ops::DType type;
  const char* shader;
  uint32_t code_words;
  const char* matmat;
};
constexpr TypeShader kTypeShaders[] = {
    {ops::DType::F32, "matvec_f32", 0, "matmat_f32"},
    {ops::DType::F16, "matvec_f16", 0, "matmat_f16"},
    {ops::DType::BF16, "matvec_bf16", 0, "matmat_bf16"},
    {ops::DType::Q8_0, "matvec_q8_0", 8, "matmat_q8_0"},
    {ops::DType::Q4_0, "matvec_q4_0", 4, "matmat_q4_0"},
    {ops::DType::Q4_1, "matvec_q4_1", 0, "matmat_q4_1"},
    {ops::DType::Q5_0, "matvec_q5_0", 0, "matmat_q5_0"},
    {ops::DType::Q5_1, "matvec_q5_1", 0, "matmat_q5_1"},
    {ops::DType::Q2_K, "matvec_q2_k", 0, "matmat_q2_k"},
    {ops::DType::Q3_K, "matvec_q3_k", 0, "matmat_q3_k"},
    {ops::DType::Q4_K, "matvec_q4_k", 0, "matmat_q4_k"},
    {ops::DType::Q5_K, "matvec_q5_k", 0, "matmat_q5_k"},
    {ops::DType::Q6_K, "matvec_q6_k", 0, "matmat_q6_k"},
    {ops::DType::MXFP4, "matvec_mxfp4", 0, "matmat_mxfp4"},
    {ops::DType::IQ4_NL, "matvec_iq4_nl", 0, "matmat_iq4_nl"},
    {ops::DType::IQ4_XS, "matvec_iq4_xs", 0, "matmat_iq4_xs"}};

TypeLayout make_layout(const TypeShader& ts) {
  TypeLayout l{ts.shader, ts.code_words, ts.matmat};
  const ops::TypeInfo* ti = ops::type_info(static_cast<uint32_t>(ts.type));
  const ops::DType act = ops::scalar_table()[ts.type].act_type;
  if (act != ops::DType::F32)
    l.act_block = static_cast<uint32_t>(ops::type_info(static_cast<uint32_t>(act))->block_size);
  if (ti->block_size > 1 && ts.code_words == 0) {
    l.slot_elems = static_cast<uint32_t>(ti->block_size);
    l.slot_words = static_cast<uint32_t>((ops::row_bytes(ts.type, ti->block_size) + 3) / 4);
  }
  return l;
}

const TypeLayout* layout_of(ops::DType t) {
  static const std::map<ops::DType, TypeLayout> layouts = [] {
    std::map<ops::DType, TypeLayout> m;
    for (const TypeShader& ts : kTypeShaders) m.emplace(ts.type, make_layout(ts));
    return m;
  }();
  const auto it = layouts.find(t);
  return it == layouts.end() ? nullptr : &it->second;
}

// The largest workgroup count the x dimension may take on every device (Vulkan's minimum).
constexpr uint32_t kMaxGroups = 65535;
// Workgroups per matvec dispatch on a CPU device (see record()).
constexpr int64_t kCpuDeviceGroups = 256;
// The prompt tiles' shape (matmat.glsl): 32 rows x 32 tokens per workgroup, k in steps of 32.
constexpr int64_t kTileRows = 32, kTileTokens = 32, kTileK = 32;

// Whether the tiles take `rows` rows of k of a type for n_tokens tokens.
bool tiles_take(const TypeLayout* tl, int64_t k, int64_t rows, uint32_t n_tokens) {
  return n_tokens >= kMatmatMinTokens && tl != nullptr && tl->matmat != nullptr &&
         k % kTileK == 0 && (rows + kTileRows - 1) / kTileRows <= kMaxGroups;
}

}  // namespace

bool matvec_supports(ops::DType t, int64_t k) {
  if (layout_of(t) == nullptr || k <= 0 || k > (1 << 24)) return false;
  const TypeLayout& tl = *layout_of(t);
  if (tl.slot_words > 0) return k % tl.slot_elems == 0;
  if (t == ops::DType::F32) return true;
  return t == ops::DType::F16 || t == ops::DType::BF16 ? k % 2 == 0 : k % 32 == 0;
}

DeviceMatrix upload(Device& dev, const void* w, ops::DType t, int64_t k, int64_t n) {
  if (!matvec_supports(t, k) || n <= 0)
    throw util::Error("vulkan: no matrix-vector kernel for this tensor type or row length");
  const TypeLayout& tl = *layout_of(t);
  DeviceMatrix m;
  m.type = t;
  m.k = k;
  m.n = n;
  std::vector<uint32_t> words;
  if (tl.slot_words > 0) {  // each super-block into its word-aligned slot (zero padded)
    const int64_t blocks = k / tl.slot_elems * n;
    const size_t block_bytes = ops::row_bytes(t, tl.slot_elems);
    words.assign(blocks * tl.slot_words, 0);
    const auto* src = static_cast<const uint8_t*>(w);
    for (int64_t i = 0; i < blocks; i++)
      std::memcpy(&words[i * tl.slot_words], src + i * block_bytes, block_bytes);
  } else if (tl.code_words == 0) {
    const size_t bytes = ops::row_bytes(t, k) * n;
    words.resize((bytes + 3) / 4);
    std::memcpy(words.data(), w, bytes);
  } else {
    // Block = fp16 scale, then the codes (18 bytes for Q4_0, 34 for Q8_0): codes to the front,
    // scales behind them two to a word.
    const int64_t nb = k / 32, blocks = nb * n;
    const size_t block_bytes = 2 + 4 * tl.code_words;
    m.scale_word_off = static_cast<uint32_t>(blocks * tl.code_words);
    words.assign(m.scale_word_off + (blocks + 1) / 2, 0);
    const auto* src = static_cast<const uint8_t*>(w);
    for (int64_t i = 0; i < blocks; i++) {
      const uint8_t* blk = src + i * block_bytes;
      std::memcpy(&words[i * tl.code_words], blk + 2, 4 * tl.code_words);
      uint16_t d;
      std::memcpy(&d, blk, 2);
      words[m.scale_word_off + i / 2] |= static_cast<uint32_t>(d) << (16 * (i % 2));
    }
  }
  const size_t bytes = words.size() * sizeof(uint32_t);
  if (bytes / 4 > UINT32_MAX)
    throw util::Error("vulkan: matrix too large for 32-bit word offsets");
  if (bytes > dev.info().max_storage_range)
    throw util::Error("vulkan: a " + std::to_string(bytes >> 20) + " MiB matrix is more than " +
                      dev.info().name + " binds in one buffer (" +
                      std::to_string(dev.info().max_storage_range >> 20) + " MiB)");
  m.buf = upload_bytes(dev, words.data(), bytes);
  return m;
}

struct Matvec::Impl {
  Device& dev;
  int64_t max_k, max_tokens;
  // Quantized activations, per token: k codes (k / 4 words), then a scale per block.
  Buffer act;
  KernelCache kernels;
  Impl(Device& d, int64_t k, int64_t tokens)
      : dev(d),
        max_k(k),
        max_tokens(tokens),
        act(d, ((k / 4 + k / 32) * tokens + 4) * 4, Memory::kDevice),
        kernels(d) {}
  const Kernel& kernel(const std::string& name, int n_buffers, uint32_t push_bytes) {
    return kernels.get(name, n_buffers, push_bytes);
  }
  const Buffer& input(Recorder& rec, const TypeLayout& tl, const DeviceMatrix& m, const Buffer& x,
                      uint32_t x_off, uint32_t x_rows, uint32_t x_stride);
  // The tiles over `rows` rows of m from row0, for n_tokens rows of activations `in`.
  void tiles(Recorder& rec, const TypeLayout& tl, const DeviceMatrix& m, int64_t rows,
             int64_t row0, const Buffer& in, uint32_t x_off, Buffer& y, uint32_t y_off,
             uint32_t n_tokens, uint32_t x_stride, uint32_t y_stride) {
    const MatmatPush push{static_cast<uint32_t>(m.k), static_cast<uint32_t>(rows),
                          m.scale_word_off, x_off, y_off, x_stride, y_stride, n_tokens,
                          static_cast<uint32_t>(row0)};
    rec.dispatch(kernel(tl.matmat, 3, sizeof push), {&m.buf, &in, &y}, &push,
                 static_cast<uint32_t>((rows + kTileRows - 1) / kTileRows),
                 (n_tokens + kTileTokens - 1) / kTileTokens);
  }
  // Matvec workgroups for `rows` rows: one per row on a GPU; a CPU device (lavapipe) runs
  // workgroups one after another on its threads at a cost each, so there every workgroup
  // takes many rows (the shaders loop).
  uint32_t row_groups(int64_t rows) const {
    return static_cast<uint32_t>(
        std::min<int64_t>(rows, dev.info().is_cpu ? kCpuDeviceGroups : kMaxGroups));
  }
};

Matvec::Matvec(Device& dev, int64_t max_k, int64_t max_tokens)
    : impl_(std::make_unique<Impl>(dev, max_k, max_tokens)) {}
Matvec::~Matvec() = default;

// The activations the shader reads: x itself (float types), or x_rows rows of it quantized
// into the act buffer.
const Buffer& Matvec::Impl::input(Recorder& rec, const TypeLayout& tl, const DeviceMatrix& m,
                                  const Buffer& x, uint32_t x_off, uint32_t x_rows,
                                  uint32_t x_stride) {
  if (m.k > max_k || x_rows > max_tokens || x_rows > kMaxGroups)
    throw util::Error("vulkan: more than the matvec was sized for");
  if (tl.act_block == 0) return x;
  const QuantizePush q{static_cast<uint32_t>(m.k), tl.act_block, x_off, tl.act_block == 32,
                       x_stride};
  const auto blocks = static_cast<uint32_t>(std::min<int64_t>(m.k / tl.act_block, kMaxGroups));
  rec.dispatch(kernel("quantize_q8", 2, sizeof q), {&x, &act}, &q, blocks, x_rows);
  return act;
}

void Matvec::record(Recorder& rec, const DeviceMatrix& m, const Buffer& x, uint32_t x_off,
                    Buffer& y, uint32_t y_off, uint32_t n_tokens, uint32_t x_stride,
                    uint32_t y_stride) {
  const TypeLayout& tl = *layout_of(m.type);
  if (n_tokens == 0) return;
  if (x_stride == 0) x_stride = static_cast<uint32_t>(m.k);
  if (y_stride == 0) y_stride = static_cast<uint32_t>(m.n);
  const Buffer& in = impl_->input(rec, tl, m, x, x_off, n_tokens, x_stride);
  if (tiles_take(&tl, m.k, m.n, n_tokens)) {
    impl_->tiles(rec, tl, m, m.n, 0, in, x_off, y, y_off, n_tokens, x_stride, y_stride);
    return;
  }
  const Push push{static_cast<uint32_t>(m.k), static_cast<uint32_t>(m.n), m.scale_word_off, x_off,
                  y_off, x_stride, y_stride};
  rec.dispatch(impl_->kernel(tl.shader, 3, sizeof push), {&m.buf, &in, &y}, &push,
               impl_->row_groups(m.n), n_tokens);
}

void Matvec::record_experts(Recorder& rec, const DeviceMatrix& m, const ExpertRows& er,
                            const Buffer& x, uint32_t x_off, Buffer& y, uint32_t y_off,
                            uint32_t n_pairs, uint32_t x_stride, uint32_t y_stride) {
  const TypeLayout& tl = *layout_of(m.type);
  if (n_pairs == 0) return;
  if (er.rows <= 0 || m.n % er.rows != 0 || er.n_used == 0 ||
      (er.expert >= 0 && (er.expert + 1) * er.rows > m.n) || (er.expert < 0 && er.ids == nullptr))
    throw util::Error("vulkan: expert rows outside the stacked matrix");
  if (n_pairs > kMaxGroups) throw util::Error("vulkan: more expert pairs than one dispatch takes");
  if (x_stride == 0) x_stride = static_cast<uint32_t>(m.k);
  if (y_stride == 0) y_stride = static_cast<uint32_t>(er.rows);
  const uint32_t x_rows = er.x_per_pair ? n_pairs : (n_pairs + er.n_used - 1) / er.n_used;
  const Buffer& in = impl_->input(rec, tl, m, x, x_off, x_rows, x_stride);
  if (er.expert >= 0 && er.x_per_pair && tiles_take(&tl, m.k, er.rows, n_pairs)) {
    impl_->tiles(rec, tl, m, er.rows, er.expert * er.rows, in, x_off, y, y_off, n_pairs, x_stride,
                 y_stride);
    return;
  }
  const ExpertPush push{static_cast<uint32_t>(m.k), static_cast<uint32_t>(er.rows),
                        m.scale_word_off, x_off, y_off, x_stride, y_stride, er.n_used,
                        er.x_per_pair ? 1u : 0u, er.expert, er.ids_off};
  const Buffer* ids = er.ids != nullptr ? er.ids : &m.buf;  // unread with a fixed expert
  rec.dispatch(impl_->kernel(std::string(tl.shader) + "_id", 4, sizeof push),
               {&m.buf, &in, &y, ids}, &push, impl_->row_groups(er.rows), n_pairs);
}

bool use_matmat(const DeviceMatrix& m, uint32_t n_tokens) {
  return tiles_take(layout_of(m.type), m.k, m.n, n_tokens);
}

}  // namespace gpu::vk
