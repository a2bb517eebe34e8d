// GGUF v3 writer: metadata + tensors (in memory, borrowed, or streamed) -> an aligned file,
// written to a temp file and renamed into place so readers never see a half-written model.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"

namespace gguf {

// Bytes a tensor of `type` and `dims` (innermost first) occupies. Throws util::Error for an
// unknown type, a bad shape, or a row length that is not a multiple of the block size.
uint64_t tensor_n_bytes(uint32_t type, const std::vector<int64_t>& dims);

class Writer {
 public:
  // Receives a tensor's bytes in any number of pieces.
  using Sink = std::function<void(const void* data, size_t n)>;
  // Produces exactly the tensor's n_bytes through the sink (checked), e.g. quantizing row
  // blocks of a mapped source one at a time, so no whole tensor needs to be in memory.
  using Producer = std::function<void(const Sink& sink)>;
  // Called after each tensor is written: bytes of tensor data written so far, and in total.
  using Progress = std::function<void(uint64_t done, uint64_t total)>;

  Writer() = default;

  // Metadata, written in insertion order. set() replaces an existing key in place (keeping
  // its position) or appends a new one.
  void set(std::string key, Value v);
  void set_string(std::string key, std::string v) { set(std::move(key), Value::of_string(v)); }
  void set_u32(std::string key, uint32_t v) { set(std::move(key), Value::of_u32(v)); }
  void set_i32(std::string key, int32_t v) { set(std::move(key), Value::of_i32(v)); }
  void set_u64(std::string key, uint64_t v) { set(std::move(key), Value::of_u64(v)); }
  void set_f32(std::string key, float v) { set(std::move(key), Value::of_f32(v)); }
  void set_bool(std::string key, bool v) { set(std::move(key), Value::of_bool(v)); }
  bool remove(std::string_view key);  // false when absent
  const Value* find(std::string_view key) const;
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }

  // Alignment of the data section and of every tensor; stored as `general.alignment` (u32)
  // unless it is the default 32. A `general.alignment` set through set() is honoured too.
  void set_alignment(uint32_t alignment);
  uint64_t alignment() const;

  // Tensors, written in the order added; names must be unique. Each add validates the type
  // and shape (throws util::Error).
  // Borrowed bytes: `data` must stay valid until write() returns (e.g. a File's mapping).
  void add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type, const void* data,
                  size_t n_bytes);
  // Owned bytes.
  void add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type,
                  std::vector<uint8_t> bytes);
  // Streamed bytes.
  void add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type, Producer producer);
  bool remove_tensor(std::string_view name);  // false when absent
  // Replaces a tensor's shape, type and bytes in place (keeping its position in the file, e.g.
  // quantizing it); throws util::Error when there is no tensor of that name.
  void replace_tensor(std::string_view name, std::vector<int64_t> dims, uint32_t type,
                      Producer producer);
  void replace_tensor(std::string_view name, std::vector<int64_t> dims, uint32_t type,
                      std::vector<uint8_t> bytes);
  size_t tensor_count() const { return tensors_.size(); }

  // Copies every metadata key and every tensor (borrowed from f's mapping, so f must be
  // opened with File::open and outlive write()). Callers then modify the copy, e.g. replace a
  // tensor with remove_tensor() + add_tensor() and change general.file_type.
  static Writer from_file(const File& f);
  // Copies (appends or replaces) every metadata key of f, in f's order; no tensors.
  void copy_metadata(const File& f);
  // Adds one tensor of f, borrowing its bytes.
  void add_tensor_from(const File& f, const TensorInfo& t);

  // Writes the whole file to `path` atomically (temp file in the same directory, fsync,
  // rename). Throws util::Error naming the path (disk full, permission, producer failure);
  // the temp file is removed and an existing file at `path` is left untouched.
  void write(const std::string& path, const Progress& progress = nullptr) const;

  // Size the written file will have.
  uint64_t file_size() const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    uint32_t type = 0;
    uint64_t n_bytes = 0;
    const uint8_t* borrowed = nullptr;
    std::vector<uint8_t> owned;
    Producer producer;
  };
  Tensor& add(std::string name, std::vector<int64_t> dims, uint32_t type);
  Tensor& replace(std::string_view name, std::vector<int64_t> dims, uint32_t type);
  std::vector<uint8_t> header() const;  // everything before the data section, unpadded

  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace gguf
