// AMX tile plumbing shared by the *_amx.cpp kernels: the 64-byte tile configuration (palette 1)
// and loading it only when this thread's current configuration differs. Internal linkage only;
// include from *_amx.cpp files (compiled with -mamx-tile -mamx-int8 -mamx-bf16).
#pragma once
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _undefined() helpers
// (as in simd_avx2.h, which these files do not all include).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ops::amx {

// The configuration this thread last loaded, shared by every *_amx.cpp file (an inline variable:
// one per thread for the whole program). A per-file cache would let one kernel skip its
// LDTILECFG after another file's kernel loaded a different shape on the same thread.
namespace detail {
struct LoadedTileConfig {
  alignas(64) unsigned char bytes[64];
  bool valid;
};
inline thread_local LoadedTileConfig t_loaded_tile_config{};
}  // namespace detail

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
  detail::LoadedTileConfig& cur = detail::t_loaded_tile_config;
  if (cur.valid && std::memcmp(cur.bytes, &cfg, sizeof cfg) == 0) return;
  _tile_loadconfig(&cfg);
  std::memcpy(cur.bytes, &cfg, sizeof cfg);
  cur.valid = true;
}

}  // namespace
}  // namespace ops::amx
