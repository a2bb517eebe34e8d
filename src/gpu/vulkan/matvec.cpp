#include "gpu/vulkan/matvec.h"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gpu/vulkan/shaders.h"
#include "ops/kernels_impl.h"
#include "util/error.h"

namespace gpu::vk {

namespace {

struct Push {
  uint32_t k, n, scale_off, x_off, y_off, x_stride, y_stride;
};
struct QuantizePush {
  uint32_t k, block, x_off, round_d, x_stride;
};

// How a type's blocks are laid out for its shader:
//   code_words > 0: 32-element blocks split into code words, then the fp16 scales two to a word;
//   slot_words > 0: blocks of slot_elems (32 or 256) copied as they are, each into
//                   slot_words words (zero padded);
//   both 0: a float type, rows as they are.
// act_block: activations quantized to 8-bit codes per block of 32 (Q8_0, d rounded to fp16)
// or 256 (Q8_K) first, as the CPU's dots take them; 0: the shader reads float activations.
struct TypeLayout {
  const char* shader;
  uint32_t code_words;
  uint32_t slot_words;
  uint32_t act_block;
  uint32_t slot_elems = 256;
};

const TypeLayout* layout_of(ops::DType t) {
  static const TypeLayout q41{"matvec_q4_1", 0, 5, 32, 32}, q50{"matvec_q5_0", 0, 6, 32, 32},
      q51{"matvec_q5_1", 0, 6, 32, 32}, bf16{"matvec_bf16", 0, 0, 0};
  static const TypeLayout f32{"matvec_f32", 0, 0, 0}, f16{"matvec_f16", 0, 0, 0},
      q8{"matvec_q8_0", 8, 0, 32}, q4{"matvec_q4_0", 4, 0, 32}, q4k{"matvec_q4_k", 0, 36, 256},
      q5k{"matvec_q5_k", 0, 44, 256}, q6k{"matvec_q6_k", 0, 53, 256};
  switch (t) {
    case ops::DType::Q4_K:
      return &q4k;
    case ops::DType::Q5_K:
      return &q5k;
    case ops::DType::Q4_1:
      return &q41;
    case ops::DType::Q5_0:
      return &q50;
    case ops::DType::Q5_1:
      return &q51;
    case ops::DType::BF16:
      return &bf16;
    case ops::DType::Q6_K:
      return &q6k;
    case ops::DType::F32:
      return &f32;
    case ops::DType::F16:
      return &f16;
    case ops::DType::Q8_0:
      return &q8;
    case ops::DType::Q4_0:
      return &q4;
    default:
      return nullptr;
  }
}

// The largest workgroup count the x dimension may take on every device (Vulkan's minimum).
constexpr uint32_t kMaxGroups = 65535;

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
  Buffer staging(dev, bytes, Memory::kHost);
  std::memcpy(staging.data(), words.data(), bytes);
  m.buf = Buffer(dev, bytes, Memory::kDevice);
  Recorder rec(dev);
  rec.copy(staging, m.buf, bytes);
  rec.submit_and_wait();
  return m;
}

struct Matvec::Impl {
  Device& dev;
  int64_t max_k, max_tokens;
  // Quantized activations, per token: k codes (k / 4 words), then a scale per block.
  Buffer act;
  std::map<std::string, std::unique_ptr<Kernel>> kernels;
  Impl(Device& d, int64_t k, int64_t tokens)
      : dev(d), max_k(k), max_tokens(tokens), act(d, ((k / 4 + k / 32) * tokens + 4) * 4, Memory::kDevice) {}
  const Kernel& kernel(const char* name, int n_buffers, uint32_t push_bytes) {
    auto& k = kernels[name];
    if (!k) {
      const auto code = shader_code(name);
      if (code.empty()) throw util::Error(std::string("vulkan: shader ") + name + " missing");
      k = std::make_unique<Kernel>(dev, code, n_buffers, push_bytes);
    }
    return *k;
  }
};

Matvec::Matvec(Device& dev, int64_t max_k, int64_t max_tokens)
    : impl_(std::make_unique<Impl>(dev, max_k, max_tokens)) {}
Matvec::~Matvec() = default;

void Matvec::record(Recorder& rec, const DeviceMatrix& m, const Buffer& x, uint32_t x_off,
                    Buffer& y, uint32_t y_off, uint32_t n_tokens, uint32_t x_stride,
                    uint32_t y_stride) {
  const TypeLayout& tl = *layout_of(m.type);
  if (m.k > impl_->max_k || n_tokens > impl_->max_tokens || n_tokens > kMaxGroups)
    throw util::Error("vulkan: more than the matvec was sized for");
  if (n_tokens == 0) return;
  if (x_stride == 0) x_stride = static_cast<uint32_t>(m.k);
  if (y_stride == 0) y_stride = static_cast<uint32_t>(m.n);
  const Buffer* in = &x;
  if (tl.act_block > 0) {
    const QuantizePush q{static_cast<uint32_t>(m.k), tl.act_block, x_off, tl.act_block == 32,
                         x_stride};
    const auto blocks = static_cast<uint32_t>(std::min<int64_t>(m.k / tl.act_block, kMaxGroups));
    rec.dispatch(impl_->kernel("quantize_q8", 2, sizeof q), {&x, &impl_->act}, &q, blocks,
                 n_tokens);
    in = &impl_->act;
  }
  const Push push{static_cast<uint32_t>(m.k), static_cast<uint32_t>(m.n), m.scale_word_off, x_off,
                  y_off, x_stride, y_stride};
  const uint32_t groups = static_cast<uint32_t>(std::min<int64_t>(m.n, kMaxGroups));
  rec.dispatch(impl_->kernel(tl.shader, 3, sizeof push), {&m.buf, in, &y}, &push, groups,
               n_tokens);
}

}  // namespace gpu::vk
