// GGUF parsing: every count, length and offset is checked against the bytes left in the file
// before anything is allocated, so a corrupt or hostile file gives a FormatError, not a crash.
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "engine/gguf/gguf.h"
#include "ops/types.h"

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes little-endian");

namespace gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32

// Smallest encoding of one metadata value of type t (used to bound counts before allocating).
uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    case ValueType::kString:
      return 8;  // u64 length
    case ValueType::kArray:
      return 12;  // u32 element type + u64 count
  }
  return 0;
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kFloat64); }

std::string hex_offset(uint64_t off) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(off));
  return buf;
}

}  // namespace

// Walks the mapped bytes; owns no memory. Member of the gguf namespace so File can befriend it.
class Parser {
 public:
  Parser(const std::string& path, const uint8_t* base, size_t size)
      : path_(path), base_(base), size_(size) {}

  void parse(File& f);

 private:
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_ + ": " + what); }
  uint64_t left() const { return size_ - pos_; }
  // `what` and `name` describe the field for the error message; they are only concatenated
  // on failure, since this runs for every element of 100k-entry vocabulary arrays.
  void need(uint64_t n, const char* what, const std::string& name) const {
    if (n > left()) {
      std::string field = name.empty() ? what : std::string(what) + " '" + name + "'";
      fail("file is truncated: " + field + " at offset " + hex_offset(pos_) + " needs " +
           std::to_string(n) + " bytes, only " + std::to_string(left()) + " left");
    }
  }
  template <class T>
  T read(const char* what, const std::string& name = {}) {
    need(sizeof(T), what, name);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what, const std::string& name = {}) {
    uint64_t n = read<uint64_t>(what, name);
    need(n, what, name);
    std::string s(reinterpret_cast<const char*>(base_ + pos_), n);
    pos_ += n;
    return s;
  }
  Value read_value(ValueType t, int depth, const std::string& key);
  void read_header(File& f, uint64_t& n_tensors, uint64_t& n_kv);
  void read_metadata(File& f, uint64_t n_kv);
  void read_tensor_infos(File& f, uint64_t n_tensors);
  void place_data(File& f);

  const std::string& path_;
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t array_elements_ = 0;
};

Value Parser::read_value(ValueType t, int depth, const std::string& key) {
  Value v;
  v.type = t;
  const char* what = "value of";
  switch (t) {
    case ValueType::kUint8:
      v.u = read<uint8_t>(what, key);
      break;
    case ValueType::kInt8:
      v.i = read<int8_t>(what, key);
      break;
    case ValueType::kUint16:
      v.u = read<uint16_t>(what, key);
      break;
    case ValueType::kInt16:
      v.i = read<int16_t>(what, key);
      break;
    case ValueType::kUint32:
      v.u = read<uint32_t>(what, key);
      break;
    case ValueType::kInt32:
      v.i = read<int32_t>(what, key);
      break;
    case ValueType::kUint64:
      v.u = read<uint64_t>(what, key);
      break;
    case ValueType::kInt64:
      v.i = read<int64_t>(what, key);
      break;
    case ValueType::kFloat32:
      v.f = read<float>(what, key);
      break;
    case ValueType::kFloat64:
      v.f = read<double>(what, key);
      break;
    case ValueType::kBool: {
      uint8_t b = read<uint8_t>(what, key);
      if (b > 1) fail("metadata '" + key + "': bool value " + std::to_string(b) + " is not 0 or 1");
      v.u = b;
      break;
    }
    case ValueType::kString:
      v.s = read_string(what, key);
      break;
    case ValueType::kArray: {
      if (depth >= kMaxArrayNesting) {
        fail("metadata '" + key + "': arrays nested deeper than " +
             std::to_string(kMaxArrayNesting) + " levels");
      }
      uint32_t et = read<uint32_t>("array element type of", key);
      if (!known_value_type(et)) {
        fail("metadata '" + key + "': unknown array element type " + std::to_string(et));
      }
      v.array_type = static_cast<ValueType>(et);
      uint64_t n = read<uint64_t>("array length of", key);
      uint64_t min = min_value_bytes(v.array_type);
      if (n > left() / min) {
        fail("metadata '" + key + "': array of " + std::to_string(n) + " " +
             value_type_name(v.array_type) + " elements does not fit in the " +
             std::to_string(left()) + " bytes left in the file");
      }
      array_elements_ += n;
      if (array_elements_ > kMaxArrayElements) {
        fail("metadata arrays hold more than " + std::to_string(kMaxArrayElements) +
             " elements in total (at '" + key + "'); refusing to load");
      }
      v.array.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.array.push_back(read_value(v.array_type, depth + 1, key));
      break;
    }
  }
  return v;
}

void Parser::read_header(File& f, uint64_t& n_tensors, uint64_t& n_kv) {
  if (size_ < 4) fail("file is too small to be a GGUF file (" + std::to_string(size_) + " bytes)");
  uint32_t magic = read<uint32_t>("magic");
  if (magic != kMagic) {
    const char* legacy = nullptr;
    if (std::memcmp(base_, "lmgg", 4) == 0) legacy = "GGML";
    if (std::memcmp(base_, "fmgg", 4) == 0) legacy = "GGMF";
    if (std::memcmp(base_, "tjgg", 4) == 0) legacy = "GGJT";
    if (legacy) {
      fail(std::string("legacy ") + legacy + " model file, not GGUF; re-convert it to GGUF");
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", __builtin_bswap32(magic));
    fail(std::string("not a GGUF file (magic bytes 0x") + buf + ", expected \"GGUF\")");
  }
  uint32_t version = read<uint32_t>("version");
  if (version == 1) fail("GGUF version 1 is not supported (file too old; re-convert it)");
  if (version != 2 && version != 3) {
    if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3) {
      fail("big-endian GGUF files are not supported");
    }
    fail("unsupported GGUF version " + std::to_string(version) + " (expected 2 or 3)");
  }
  f.version_ = version;
  n_tensors = read<uint64_t>("tensor count");
  n_kv = read<uint64_t>("metadata count");
  // Each metadata entry needs a key length, a type and a value of at least one byte; each
  // tensor info at least a name length, dimension count, type and offset.
  if (n_kv > left() / 13) {
    fail("metadata count " + std::to_string(n_kv) + " is impossible for a file of " +
         std::to_string(size_) + " bytes");
  }
  if (n_tensors > left() / 24) {
    fail("tensor count " + std::to_string(n_tensors) + " is impossible for a file of " +
         std::to_string(size_) + " bytes");
  }
}

void Parser::read_metadata(File& f, uint64_t n_kv) {
  f.kv_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = read_string("metadata key");
    if (key.empty()) fail("metadata key #" + std::to_string(k) + " is empty");
    uint32_t t = read<uint32_t>("type of", key);
    if (!known_value_type(t))
      fail("metadata '" + key + "': unknown value type " + std::to_string(t));
    Value v = read_value(static_cast<ValueType>(t), 0, key);
    if (f.kv_index_.count(key)) fail("duplicate metadata key '" + key + "'");
    f.kv_index_.emplace(key, f.kv_.size());
    f.kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const Value* a = f.find("general.alignment")) {
    bool is_signed = a->type == ValueType::kInt8 || a->type == ValueType::kInt16 ||
                     a->type == ValueType::kInt32 || a->type == ValueType::kInt64;
    uint64_t al = !a->is_integer() || a->type == ValueType::kBool ? 0
                  : is_signed                                     ? (a->i > 0 ? uint64_t(a->i) : 0)
                                                                  : a->u;
    if (!std::has_single_bit(al)) fail("general.alignment must be a positive power of two");
    f.alignment_ = al;
  }
}

void Parser::read_tensor_infos(File& f, uint64_t n_tensors) {
  f.tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo t;
    t.name = read_string("tensor name");
    const std::string q = "tensor '" + t.name + "'";
    uint32_t n_dims = read<uint32_t>("dimension count of tensor", t.name);
    if (n_dims == 0 || n_dims > kMaxDims) {
      fail(q + " has " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kMaxDims) +
           " allowed)");
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = read<uint64_t>("dimensions of tensor", t.name);
      if (dim == 0 || dim > uint64_t(INT64_MAX)) {
        fail(q + " has invalid dimension " + std::to_string(dim));
      }
      if (int64_t(dim) > INT64_MAX / n_elements) fail(q + " has too many elements (overflow)");
      n_elements *= int64_t(dim);
      t.dims.push_back(int64_t(dim));
    }
    t.type = read<uint32_t>("type of tensor", t.name);
    const ops::TypeInfo* ti = ops::type_info(t.type);
    if (!ti) fail(q + " has unknown tensor type id " + std::to_string(t.type));
    if (t.dims[0] % ti->block_size != 0) {
      fail(q + " has row length " + std::to_string(t.dims[0]) + ", not a multiple of the " +
           ti->name + " block size " + std::to_string(ti->block_size));
    }
    uint64_t row = uint64_t(t.dims[0] / ti->block_size) * ti->block_bytes;
    uint64_t rows = uint64_t(n_elements / t.dims[0]);
    if (row != 0 && rows > UINT64_MAX / row) fail(q + " is too large (byte size overflow)");
    t.n_bytes = row * rows;
    t.offset = read<uint64_t>("data offset of tensor", t.name);
    if (t.offset % f.alignment_ != 0) {
      fail(q + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
           std::to_string(f.alignment_));
    }
    if (f.tensor_index_.count(t.name)) fail("duplicate tensor name '" + t.name + "'");
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }
}

void Parser::place_data(File& f) {
  uint64_t rem = pos_ % f.alignment_;
  uint64_t pad = rem ? f.alignment_ - rem : 0;
  if (pad > left()) {
    if (!f.tensors_.empty()) fail("file is truncated: the tensor data section is missing");
    f.data_offset_ = size_;  // no tensors: an absent data section is fine
    return;
  }
  f.data_offset_ = pos_ + pad;
  const uint64_t data_size = size_ - f.data_offset_;
  f.data_section_ = base_ + f.data_offset_;
  for (TensorInfo& t : f.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      fail("tensor '" + t.name + "' data (offset " + std::to_string(t.offset) + ", " +
           std::to_string(t.n_bytes) +
           " bytes) lies outside the file; the file is truncated or "
           "corrupt");
    }
    t.data = f.data_section_ + t.offset;
  }
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(f.tensors_.size());
  for (const TensorInfo& t : f.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const TensorInfo* a = by_offset[k - 1];
    const TensorInfo* b = by_offset[k];
    if (a->offset + a->n_bytes > b->offset) {
      fail("tensors '" + a->name + "' and '" + b->name + "' overlap in the data section");
    }
  }
}

void Parser::parse(File& f) {
  uint64_t n_tensors = 0, n_kv = 0;
  read_header(f, n_tensors, n_kv);
  read_metadata(f, n_kv);
  read_tensor_infos(f, n_tensors);
  place_data(f);
}

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  f->map_ = std::make_unique<util::MappedFile>(path);
  f->file_size_ = f->map_->size();
  Parser(path, f->map_->data(), f->map_->size()).parse(*f);
  return f;
}

std::unique_ptr<File> File::open_metadata(const std::string& path) {
  std::unique_ptr<File> f = open(path);
  f->map_.reset();
  f->data_section_ = nullptr;
  for (TensorInfo& t : f->tensors_) t.data = nullptr;
  return f;
}

}  // namespace gguf
