// AMX tile plumbing shared by the *_amx.cpp kernels: the 64-byte tile configuration (palette 1)
// and loading it only when this thread's current configuration differs. Internal linkage only;
// include from *_amx.cpp files (compiled with -mamx-tile -mamx-int8 -mamx-bf16).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ops::amx {
namespace {

// LDTILECFG memory layout: palette 1 allows 8 tiles of up to 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tile i
  uint8_t rows[16] = {};    // rows of tile i
  TileConfig& tile(int i, int n_rows, int bytes_per_row) {
    rows[i] = static_cast<uint8_t>(n_rows);
    colsb[i] = static_cast<uint16_t>(bytes_per_row);
    return *this;
  }
};
static_assert(sizeof(TileConfig) == 64);

// Loads cfg into the tile unit unless this thread already runs with it (LDTILECFG zeroes all
// tiles and costs tens of cycles: once per gemm call is fine, once per tile step is not).
inline void use_tile_config(const TileConfig& cfg) {
  thread_local TileConfig current{};
  thread_local bool loaded = false;
  if (loaded && std::memcmp(&current, &cfg, sizeof cfg) == 0) return;
  _tile_loadconfig(&cfg);
  current = cfg;
  loaded = true;
}

}  // namespace
}  // namespace ops::amx
