// GGUF v2/v3 reader: memory-mapped, every offset and count validated against the file size.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/mmap.h"

namespace gguf {

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
const char* value_type_name(ValueType t);

// A thrown error always names the file and the problem ("<path>: tensor 'x' data out of file").
class FormatError : public util::Error {
 public:
  explicit FormatError(std::string m) : util::Error(std::move(m), util::ErrorKind::kBadModelFile) {}
};

// One metadata value. Scalars and strings are decoded; arrays keep their element type and are
// decoded into `array` (nested arrays allowed). Strings are owned, so a Value outlives its File.
struct Value {
  ValueType type = ValueType::kUint8;
  uint64_t u = 0;                            // unsigned ints and bool
  int64_t i = 0;                             // signed ints
  double f = 0;                              // floats
  std::string s;                             // kString
  ValueType array_type = ValueType::kUint8;  // element type when type == kArray
  std::vector<Value> array;

  bool is_integer() const;  // the 8 integer types (not bool)
  bool is_number() const;   // integer or float
  // Any integer or bool, or a float holding a whole number; throws util::Error otherwise (and
  // for a uint64 above INT64_MAX).
  int64_t as_int() const;
  double as_double() const;              // any numeric or bool
  bool as_bool() const;                  // bool or integer (nonzero = true)
  const std::string& as_string() const;  // throws unless kString

  // Builders (used by the writer and tests).
  static Value of_u8(uint8_t v);
  static Value of_i8(int8_t v);
  static Value of_u16(uint16_t v);
  static Value of_i16(int16_t v);
  static Value of_u32(uint32_t v);
  static Value of_i32(int32_t v);
  static Value of_u64(uint64_t v);
  static Value of_i64(int64_t v);
  static Value of_f32(float v);
  static Value of_f64(double v);
  static Value of_bool(bool v);
  static Value of_string(std::string v);
  // Every element must have type `element_type` (checked by the writer).
  static Value of_array(ValueType element_type, std::vector<Value> elements);
  static Value of_strings(const std::vector<std::string>& v);
  static Value of_i32s(const std::vector<int32_t>& v);
  static Value of_f32s(const std::vector<float>& v);

  // Same type and same contents (floats compared by value; NaN equals NaN).
  bool operator==(const Value& o) const;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;      // innermost first: dims[0] is the row length
  uint32_t type = 0;              // ggml type id (ops::DType)
  uint64_t offset = 0;            // relative to the data section
  uint64_t n_bytes = 0;           // computed from type and dims
  const uint8_t* data = nullptr;  // into the mapping

  int64_t n_elements() const;
};

class File {
 public:
  // Opens, maps and validates. Throws FormatError (bad magic, version 1, truncation, absurd
  // counts, overlapping or out-of-file tensors, unknown types) naming the path.
  static std::unique_ptr<File> open(const std::string& path);
  // Reads only the header + metadata (+ tensor table) without keeping the mapping alive.
  // Same validation. Used by show/create where weights are not needed: data_section() and
  // every TensorInfo::data are nullptr.
  static std::unique_ptr<File> open_metadata(const std::string& path);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }
  size_t file_size() const { return file_size_; }
  // Offset of the data section from the start of the file (aligned).
  uint64_t data_offset() const { return data_offset_; }
  const uint8_t* data_section() const { return data_section_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  // Drops the array values whose key starts with `prefix` (e.g. "tokenizer.ggml." once the
  // tokenizer is built: the decoded vocabulary and merges of a 128k-token model take ~60 MiB as
  // Values); they are then absent as if the file lacked them. Returns how many were dropped.
  size_t release_arrays(std::string_view prefix);
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: the key's value converted; nullopt/default when absent; throws FormatError
  // (naming file and key) when present with an incompatible type. get_int takes any integer
  // type or bool (a uint64 above INT64_MAX throws), get_float any number, get_bool a bool or
  // integer, get_string only a string.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::string get_string(std::string_view key, std::string def) const;
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key, double def) const;
  // Arrays (empty when absent); throw FormatError if the key holds something else. Float
  // arrays take any numeric element type; int arrays any integer/bool type whose values fit
  // in int32.
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_float_array(std::string_view key) const;
  std::vector<int32_t> get_int_array(std::string_view key) const;

  // "general.architecture", or "" when absent.
  std::string architecture() const { return get_string("general.architecture", ""); }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* tensor(std::string_view name) const;

 private:
  File() = default;
  std::string path_;
  std::unique_ptr<util::MappedFile> map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  size_t file_size_ = 0;
  uint64_t data_offset_ = 0;
  const uint8_t* data_section_ = nullptr;
  std::vector<std::pair<std::string, Value>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;

  friend class Parser;
};

// Limits the reader enforces on top of the file-size checks (they bound memory use).
inline constexpr uint64_t kMaxDims = 4;                    // GGML_MAX_DIMS
inline constexpr int kMaxArrayNesting = 8;                 // arrays of arrays of ...
inline constexpr uint64_t kMaxArrayElements = 1ull << 24;  // all metadata arrays together

}  // namespace gguf
