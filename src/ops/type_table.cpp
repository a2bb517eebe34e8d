// ggml type ids -> name and block geometry (format facts), and row sizes.
#include <array>

#include "ops/types.h"

namespace ops {
namespace {

constexpr int kMaxId = 40;

constexpr std::array<TypeInfo, kMaxId> make_table() {
  std::array<TypeInfo, kMaxId> t{};
  auto set = [&](DType d, const char* name, int64_t bs, size_t bytes) {
    t[static_cast<uint32_t>(d)] = TypeInfo{name, bs, bytes};
  };
  set(DType::F32, "F32", 1, 4);
  set(DType::F16, "F16", 1, 2);
  set(DType::Q4_0, "Q4_0", 32, 18);
  set(DType::Q4_1, "Q4_1", 32, 20);
  set(DType::Q5_0, "Q5_0", 32, 22);
  set(DType::Q5_1, "Q5_1", 32, 24);
  set(DType::Q8_0, "Q8_0", 32, 34);
  set(DType::Q8_1, "Q8_1", 32, 36);
  set(DType::Q2_K, "Q2_K", 256, 84);
  set(DType::Q3_K, "Q3_K", 256, 110);
  set(DType::Q4_K, "Q4_K", 256, 144);
  set(DType::Q5_K, "Q5_K", 256, 176);
  set(DType::Q6_K, "Q6_K", 256, 210);
  set(DType::Q8_K, "Q8_K", 256, 292);
  set(DType::IQ2_XXS, "IQ2_XXS", 256, 66);
  set(DType::IQ2_XS, "IQ2_XS", 256, 74);
  set(DType::IQ3_XXS, "IQ3_XXS", 256, 98);
  set(DType::IQ1_S, "IQ1_S", 256, 50);
  set(DType::IQ4_NL, "IQ4_NL", 32, 18);
  set(DType::IQ3_S, "IQ3_S", 256, 110);
  set(DType::IQ2_S, "IQ2_S", 256, 82);
  set(DType::IQ4_XS, "IQ4_XS", 256, 136);
  set(DType::I8, "I8", 1, 1);
  set(DType::I16, "I16", 1, 2);
  set(DType::I32, "I32", 1, 4);
  set(DType::I64, "I64", 1, 8);
  set(DType::F64, "F64", 1, 8);
  set(DType::IQ1_M, "IQ1_M", 256, 56);
  set(DType::BF16, "BF16", 1, 2);
  set(DType::TQ1_0, "TQ1_0", 256, 54);
  set(DType::TQ2_0, "TQ2_0", 256, 66);
  set(DType::MXFP4, "MXFP4", 32, 17);
  return t;
}

constexpr std::array<TypeInfo, kMaxId> kTable = make_table();

}  // namespace

const TypeInfo* type_info(uint32_t id) {
  if (id >= kMaxId || kTable[id].name == nullptr) return nullptr;
  return &kTable[id];
}

size_t row_bytes(DType t, int64_t n) {
  const TypeInfo* ti = type_info(static_cast<uint32_t>(t));
  if (ti == nullptr) return 0;
  return static_cast<size_t>(n / ti->block_size) * ti->block_bytes;
}

}  // namespace ops
