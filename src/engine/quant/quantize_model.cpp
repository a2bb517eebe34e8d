#include "engine/quant/quantize_model.h"

#include <algorithm>
#include <cctype>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine::quant {
namespace {

using ops::DType;

struct Named {
  const char* name;
  FileType t;
};
constexpr Named kNames[] = {
    {"F32", FileType::kF32},       {"F16", FileType::kF16},
    {"BF16", FileType::kBF16},     {"Q4_0", FileType::kQ4_0},
    {"Q4_1", FileType::kQ4_1},     {"Q5_0", FileType::kQ5_0},
    {"Q5_1", FileType::kQ5_1},     {"Q8_0", FileType::kQ8_0},
    {"Q2_K", FileType::kQ2_K},     {"Q3_K_S", FileType::kQ3_K_S},
    {"Q3_K_M", FileType::kQ3_K_M}, {"Q3_K_L", FileType::kQ3_K_L},
    {"Q4_K_S", FileType::kQ4_K_S}, {"Q4_K_M", FileType::kQ4_K_M},
    {"Q5_K_S", FileType::kQ5_K_S}, {"Q5_K_M", FileType::kQ5_K_M},
    {"Q6_K", FileType::kQ6_K},     {"MXFP4_MOE", FileType::kMXFP4_MOE},
};

DType base_type(FileType ft) {
  switch (ft) {
    case FileType::kF32:
      return DType::F32;
    case FileType::kF16:
      return DType::F16;
    case FileType::kBF16:
      return DType::BF16;
    case FileType::kQ4_0:
      return DType::Q4_0;
    case FileType::kQ4_1:
      return DType::Q4_1;
    case FileType::kQ5_0:
      return DType::Q5_0;
    case FileType::kQ5_1:
      return DType::Q5_1;
    case FileType::kQ8_0:
      return DType::Q8_0;
    case FileType::kQ2_K:
      return DType::Q2_K;
    case FileType::kQ3_K_S:
    case FileType::kQ3_K_M:
    case FileType::kQ3_K_L:
      return DType::Q3_K;
    case FileType::kQ4_K_S:
    case FileType::kQ4_K_M:
      return DType::Q4_K;
    case FileType::kQ5_K_S:
    case FileType::kQ5_K_M:
      return DType::Q5_K;
    case FileType::kQ6_K:
      return DType::Q6_K;
    case FileType::kMXFP4_MOE:
      return DType::MXFP4;
  }
  return DType::F16;
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// llama.cpp's "more bits" layers: the first and last eighth, and every third in between.
bool use_more_bits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// MoE tensors are not in layer order in every file (llama.cpp's note on Mixtral): the layer of
// "blk.N.<...>" from its name, or -1.
int64_t layer_of(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  int64_t i = 0;
  size_t p = 4;
  if (p >= name.size() || !std::isdigit(static_cast<unsigned char>(name[p]))) return -1;
  for (; p < name.size() && std::isdigit(static_cast<unsigned char>(name[p])); p++) {
    i = i * 10 + (name[p] - '0');
    if (i > (int64_t{1} << 40)) return -1;
  }
  return p < name.size() && name[p] == '.' ? i : -1;
}

// A row length the K-quants cannot block falls back to a 32-block type (llama.cpp's table).
DType fallback(DType t, int64_t row) {
  if (row % ops::type_info(static_cast<uint32_t>(t))->block_size == 0) return t;
  DType f;
  switch (t) {
    case DType::Q2_K:
    case DType::Q3_K:
      f = DType::IQ4_NL;
      break;
    case DType::Q4_K:
      f = DType::Q5_0;
      break;
    case DType::Q5_K:
      f = DType::Q5_1;
      break;
    case DType::Q6_K:
      f = DType::Q8_0;
      break;
    default:
      f = DType::F16;
  }
  if (row % ops::type_info(static_cast<uint32_t>(f))->block_size != 0) f = DType::F16;
  return f;
}

}  // namespace

std::optional<FileType> parse_file_type(std::string_view name) {
  std::string up(name);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "Q4_K") up = "Q4_K_M";
  if (up == "Q5_K") up = "Q5_K_M";
  if (up == "Q3_K") up = "Q3_K_M";
  if (up == "MXFP4") up = "MXFP4_MOE";
  for (const auto& n : kNames)
    if (up == n.name) return n.t;
  return std::nullopt;
}

std::string file_type_name(FileType t) {
  for (const auto& n : kNames)
    if (n.t == t) return n.name;
  return "unknown";
}

std::vector<std::string> supported_file_types() {
  std::vector<std::string> v;
  for (const auto& n : kNames) v.push_back(n.name);
  return v;
}

std::optional<DType> TypeChooser::choose(const std::string& name,
                                         const std::vector<int64_t>& dims) {
  // Only weight matrices are converted; norms, biases, routers and rope tables stay.
  if (dims.size() < 2 || !name.ends_with("weight") || has(name, "_norm") ||
      has(name, "ffn_gate_inp") || has(name, "rope_freqs") || has(name, "pos_embd") ||
      has(name, "token_types"))
    return std::nullopt;
  const FileType ft = ft_;
  DType t = base_type(ft);
  if (ft == FileType::kF32 || ft == FileType::kF16 || ft == FileType::kBF16) return t;
  const int64_t row = dims[0];
  bool is_output = name == "output.weight" || (!shape_.has_output && name == "token_embd.weight");
  // llama.cpp's rules for MoE models (expert_count): 8 experts bump attn_v/attn_k to Q8_0 and
  // attn_output of the low mixes to Q5_K; ffn_down's layer comes from its name.
  const bool moe = shape_.n_expert > 1, moe8 = shape_.n_expert == 8;
  if (is_output) {
    if (ft == FileType::kMXFP4_MOE || row % 256 != 0)
      t = DType::Q8_0;
    else if (t != DType::Q8_0)
      t = DType::Q6_K;
  } else if (ft == FileType::kMXFP4_MOE) {
    // Expert stacks (3-D, more than one expert) in MXFP4, every other matrix Q8_0.
    t = dims.size() >= 3 && dims[2] > 1 ? DType::MXFP4 : DType::Q8_0;
  } else if (has(name, "attn_v.weight")) {
    int64_t i = i_attn_v_++, n = std::max<int64_t>(shape_.n_attn_v, 1);
    if (ft == FileType::kQ2_K)
      t = shape_.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
    else if (ft == FileType::kQ3_K_M)
      t = i < 2 ? DType::Q5_K : DType::Q4_K;
    else if (ft == FileType::kQ3_K_L)
      t = DType::Q5_K;
    else if ((ft == FileType::kQ4_K_M || ft == FileType::kQ5_K_M) && use_more_bits(i, n))
      t = DType::Q6_K;
    else if (ft == FileType::kQ4_K_S && i < 4)
      t = DType::Q5_K;
    if (moe8) t = DType::Q8_0;
  } else if (has(name, "attn_k.weight")) {
    if (moe8) t = DType::Q8_0;
  } else if (has(name, "ffn_down")) {
    int64_t i = i_ffn_down_++, n = std::max<int64_t>(shape_.n_ffn_down, 1);
    if (moe) {
      const int64_t layer = layer_of(name);
      if (layer < 0 || layer >= shape_.n_layer)
        throw util::Error("cannot tell the layer of MoE tensor '" + name + "'");
      i = layer;
      n = shape_.n_layer;
    }
    if (ft == FileType::kQ2_K)
      t = DType::Q3_K;
    else if (ft == FileType::kQ3_K_M)
      t = i < n / 16 ? DType::Q5_K : DType::Q4_K;
    else if (ft == FileType::kQ3_K_L)
      t = DType::Q5_K;
    else if ((ft == FileType::kQ4_K_M || ft == FileType::kQ5_K_M) && use_more_bits(i, n))
      t = DType::Q6_K;
    else if (ft == FileType::kQ4_K_S && i < n / 8)
      t = DType::Q5_K;
  } else if (has(name, "attn_output.weight")) {
    if (moe8) {
      if (ft == FileType::kQ2_K || ft == FileType::kQ3_K_S || ft == FileType::kQ3_K_M ||
          ft == FileType::kQ4_K_S || ft == FileType::kQ4_K_M)
        t = DType::Q5_K;
    } else if (ft == FileType::kQ2_K)
      t = DType::Q3_K;
    else if (ft == FileType::kQ3_K_M)
      t = DType::Q4_K;
    else if (ft == FileType::kQ3_K_L)
      t = DType::Q5_K;
  } else if (has(name, "attn_qkv.weight")) {
    if (ft == FileType::kQ3_K_M || ft == FileType::kQ3_K_L)
      t = DType::Q4_K;
    else if (ft == FileType::kQ4_K_M)
      t = DType::Q5_K;
    else if (ft == FileType::kQ5_K_M)
      t = DType::Q6_K;
  }
  return fallback(t, row);
}

void quantize_file(const std::string& src, const std::string& dst, FileType ft,
                   const Progress& progress, int n_threads) {
  auto f = gguf::File::open(src);
  ModelShape shape;
  shape.arch = f->architecture();
  shape.n_layer = f->get_int(shape.arch + ".block_count", 0);
  int64_t heads = f->get_int(shape.arch + ".attention.head_count", 1);
  int64_t kv = f->get_int(shape.arch + ".attention.head_count_kv", heads);
  shape.n_gqa = kv > 0 ? heads / kv : 1;
  shape.has_output = f->tensor("output.weight") != nullptr;
  shape.n_expert = f->get_int(shape.arch + ".expert_count", 0);
  for (const auto& t : f->tensors()) {
    shape.n_attn_v += has(t.name, "attn_v.weight");
    shape.n_ffn_down += has(t.name, "ffn_down");
  }
  TypeChooser chooser(ft, shape);
  gguf::Writer w = gguf::Writer::from_file(*f);
  util::ThreadPool pool(n_threads > 0 ? n_threads : util::physical_cores());
  for (const auto& t : f->tensors()) {
    auto want = chooser.choose(t.name, t.dims);
    if (!want || static_cast<uint32_t>(*want) == t.type) continue;
    const ops::Kernels* from = ops::kernels(static_cast<DType>(t.type), ops::Isa::kScalar);
    const ops::Kernels* to = ops::kernels(*want, ops::Isa::kScalar);
    bool from_f32 = t.type == static_cast<uint32_t>(DType::F32);
    if ((!from_f32 && (!from || !from->dequantize_row)) || !to || !to->quantize_row)
      throw util::Error(src + ": cannot convert tensor '" + t.name + "' from " +
                        ops::type_info(t.type)->name + " to " +
                        ops::type_info(static_cast<uint32_t>(*want))->name);
    const int64_t row = t.dims[0];
    const int64_t rows = t.n_elements() / row;
    const size_t in_row = ops::row_bytes(static_cast<DType>(t.type), row);
    const size_t out_row = ops::row_bytes(*want, row);
    const uint8_t* base = t.data;
    DType dst_type = *want;
    w.replace_tensor(t.name, t.dims, static_cast<uint32_t>(dst_type),
                     [=, &pool](const gguf::Writer::Sink& sink) {
                       // Rows are converted in chunks on the pool, then handed to the sink in
                       // order.
                       const int64_t chunk_rows =
                           std::max<int64_t>(1, (8 << 20) / static_cast<int64_t>(out_row + 1));
                       std::vector<uint8_t> out;
                       for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
                         int64_t nr = std::min(chunk_rows, rows - r0);
                         out.resize(static_cast<size_t>(nr) * out_row);
                         auto work = [&](int ith, int nth) {
                           std::vector<float> tmp(static_cast<size_t>(row));
                           for (int64_t r = ith; r < nr; r += nth) {
                             const uint8_t* in = base + static_cast<size_t>(r0 + r) * in_row;
                             const float* x = reinterpret_cast<const float*>(in);
                             if (!from_f32) {
                               from->dequantize_row(in, tmp.data(), row);
                               x = tmp.data();
                             }
                             to->quantize_row(x, out.data() + static_cast<size_t>(r) * out_row,
                                              row);
                           }
                         };
                         pool.run(work);
                         sink(out.data(), out.size());
                       }
                     });
  }
  w.set_u32("general.file_type", static_cast<uint32_t>(ft));
  w.set_u32("general.quantization_version", 2);
  w.write(dst, progress);
}

}  // namespace engine::quant
