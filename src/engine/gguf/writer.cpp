// GGUF v3 writer. Layout: header, metadata, tensor infos, zero padding to the alignment, then
// each tensor's bytes padded to the alignment (the last one too, as llama.cpp writes it).
#include "engine/gguf/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ops/types.h"

namespace gguf {
namespace {

constexpr uint64_t kDefaultAlignment = 32;

uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

class Encoder {
 public:
  explicit Encoder(std::vector<uint8_t>& out) : out_(out) {}
  template <class T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.insert(out_.end(), b, b + sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void value(const std::string& key, const Value& v, ValueType as) {
    if (v.type != as) {
      throw util::Error("metadata '" + key + "': array element of type " + value_type_name(v.type) +
                        " in an array of " + value_type_name(as));
    }
    auto range = [&](bool ok) {
      if (!ok) throw util::Error("metadata '" + key + "': value out of range for its type");
    };
    switch (v.type) {
      case ValueType::kUint8:
        range(v.u <= UINT8_MAX);
        put<uint8_t>(uint8_t(v.u));
        break;
      case ValueType::kBool:
        range(v.u <= 1);
        put<uint8_t>(uint8_t(v.u));
        break;
      case ValueType::kInt8:
        range(v.i >= INT8_MIN && v.i <= INT8_MAX);
        put<int8_t>(int8_t(v.i));
        break;
      case ValueType::kUint16:
        range(v.u <= UINT16_MAX);
        put<uint16_t>(uint16_t(v.u));
        break;
      case ValueType::kInt16:
        range(v.i >= INT16_MIN && v.i <= INT16_MAX);
        put<int16_t>(int16_t(v.i));
        break;
      case ValueType::kUint32:
        range(v.u <= UINT32_MAX);
        put<uint32_t>(uint32_t(v.u));
        break;
      case ValueType::kInt32:
        range(v.i >= INT32_MIN && v.i <= INT32_MAX);
        put<int32_t>(int32_t(v.i));
        break;
      case ValueType::kUint64:
        put<uint64_t>(v.u);
        break;
      case ValueType::kInt64:
        put<int64_t>(v.i);
        break;
      case ValueType::kFloat32:
        put<float>(float(v.f));
        break;
      case ValueType::kFloat64:
        put<double>(v.f);
        break;
      case ValueType::kString:
        str(v.s);
        break;
      case ValueType::kArray:
        if (uint32_t(v.array_type) > uint32_t(ValueType::kFloat64)) {
          throw util::Error("metadata '" + key + "': unknown array element type");
        }
        put<uint32_t>(uint32_t(v.array_type));
        put<uint64_t>(v.array.size());
        for (const Value& e : v.array) value(key, e, v.array_type);
        break;
      default:
        throw util::Error("metadata '" + key + "': unknown value type");
    }
  }

 private:
  std::vector<uint8_t>& out_;
};

// Buffered writes to a file descriptor; throws util::Error with errno text on failure.
class FdWriter {
 public:
  explicit FdWriter(int fd) : fd_(fd) { buf_.reserve(kBufferSize); }
  void write(const void* data, size_t n) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    if (n >= kBufferSize) {
      flush();
      raw_write(p, n);
      return;
    }
    if (buf_.size() + n > kBufferSize) flush();
    buf_.insert(buf_.end(), p, p + n);
  }
  void zeros(size_t n) {
    static const uint8_t kZeros[256] = {};
    while (n) {
      size_t k = std::min(n, sizeof kZeros);
      write(kZeros, k);
      n -= k;
    }
  }
  void flush() {
    raw_write(buf_.data(), buf_.size());
    buf_.clear();
  }

 private:
  static constexpr size_t kBufferSize = 1 << 20;
  void raw_write(const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw util::Error(std::strerror(errno));
      }
      p += w;
      n -= size_t(w);
    }
  }
  int fd_;
  std::vector<uint8_t> buf_;
};

}  // namespace

uint64_t tensor_n_bytes(uint32_t type, const std::vector<int64_t>& dims) {
  const ops::TypeInfo* ti = ops::type_info(type);
  if (!ti) throw util::Error("unknown tensor type id " + std::to_string(type));
  if (dims.empty() || dims.size() > kMaxDims) {
    throw util::Error("a tensor needs 1 to 4 dimensions, got " + std::to_string(dims.size()));
  }
  uint64_t rows = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] <= 0) throw util::Error("tensor dimension " + std::to_string(dims[k]));
    if (k > 0) {
      if (uint64_t(dims[k]) > (uint64_t(INT64_MAX) / rows)) throw util::Error("tensor too large");
      rows *= uint64_t(dims[k]);
    }
  }
  if (dims[0] % ti->block_size != 0) {
    throw util::Error("row length " + std::to_string(dims[0]) + " is not a multiple of the " +
                      ti->name + " block size " + std::to_string(ti->block_size));
  }
  uint64_t row = uint64_t(dims[0] / ti->block_size) * ti->block_bytes;
  if (rows > UINT64_MAX / row) throw util::Error("tensor too large");
  return row * rows;
}

void Writer::set(std::string key, Value v) {
  for (auto& [k, old] : kv_) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(v));
}

bool Writer::remove(std::string_view key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it) {
    if (it->first == key) {
      kv_.erase(it);
      return true;
    }
  }
  return false;
}

const Value* Writer::find(std::string_view key) const {
  for (const auto& [k, v] : kv_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Writer::set_alignment(uint32_t alignment) {
  if (!std::has_single_bit(alignment)) throw util::Error("alignment must be a power of two");
  if (alignment == kDefaultAlignment && !find("general.alignment")) return;
  set_u32("general.alignment", alignment);
}

uint64_t Writer::alignment() const {
  const Value* v = find("general.alignment");
  if (!v) return kDefaultAlignment;
  if (!v->is_integer() || v->as_int() <= 0 || !std::has_single_bit(uint64_t(v->as_int()))) {
    throw util::Error("general.alignment must be a positive power of two");
  }
  return uint64_t(v->as_int());
}

Writer::Tensor& Writer::add(std::string name, std::vector<int64_t> dims, uint32_t type) {
  for (const Tensor& t : tensors_) {
    if (t.name == name) throw util::Error("duplicate tensor name '" + name + "'");
  }
  Tensor t;
  try {
    t.n_bytes = tensor_n_bytes(type, dims);
  } catch (const util::Error& e) {
    throw util::Error("tensor '" + name + "': " + e.what());
  }
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.type = type;
  tensors_.push_back(std::move(t));
  return tensors_.back();
}

void Writer::add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type,
                        const void* data, size_t n_bytes) {
  Tensor& t = add(std::move(name), std::move(dims), type);
  if (n_bytes != t.n_bytes || data == nullptr) {
    std::string msg = "tensor '" + t.name + "': got " + std::to_string(n_bytes) +
                      " bytes, its shape and type need " + std::to_string(t.n_bytes);
    if (!data) msg = "tensor '" + t.name + "': no data";
    tensors_.pop_back();
    throw util::Error(msg);
  }
  t.borrowed = static_cast<const uint8_t*>(data);
}

void Writer::add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type,
                        std::vector<uint8_t> bytes) {
  Tensor& t = add(std::move(name), std::move(dims), type);
  if (bytes.size() != t.n_bytes) {
    std::string msg = "tensor '" + t.name + "': got " + std::to_string(bytes.size()) +
                      " bytes, its shape and type need " + std::to_string(t.n_bytes);
    tensors_.pop_back();
    throw util::Error(msg);
  }
  t.owned = std::move(bytes);
  t.borrowed = t.owned.data();
}

void Writer::add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type,
                        Producer producer) {
  add(std::move(name), std::move(dims), type).producer = std::move(producer);
}

bool Writer::remove_tensor(std::string_view name) {
  for (auto it = tensors_.begin(); it != tensors_.end(); ++it) {
    if (it->name == name) {
      tensors_.erase(it);
      return true;
    }
  }
  return false;
}

Writer::Tensor& Writer::replace(std::string_view name, std::vector<int64_t> dims, uint32_t type) {
  for (Tensor& t : tensors_) {
    if (t.name != name) continue;
    uint64_t n_bytes = 0;
    try {
      n_bytes = tensor_n_bytes(type, dims);
    } catch (const util::Error& e) {
      throw util::Error("tensor '" + t.name + "': " + e.what());
    }
    t.dims = std::move(dims);
    t.type = type;
    t.n_bytes = n_bytes;
    t.borrowed = nullptr;
    t.owned.clear();
    t.producer = nullptr;
    return t;
  }
  throw util::Error("no tensor named '" + std::string(name) + "' to replace");
}

void Writer::replace_tensor(std::string_view name, std::vector<int64_t> dims, uint32_t type,
                            Producer producer) {
  replace(name, std::move(dims), type).producer = std::move(producer);
}

void Writer::replace_tensor(std::string_view name, std::vector<int64_t> dims, uint32_t type,
                            std::vector<uint8_t> bytes) {
  if (bytes.size() != tensor_n_bytes(type, dims)) {
    throw util::Error("tensor '" + std::string(name) + "': got " + std::to_string(bytes.size()) +
                      " bytes, its shape and type need " +
                      std::to_string(tensor_n_bytes(type, dims)));
  }
  Tensor& t = replace(name, std::move(dims), type);
  t.owned = std::move(bytes);
  t.borrowed = t.owned.data();
}

void Writer::copy_metadata(const File& f) {
  for (const auto& [key, v] : f.metadata()) set(key, v);
}

void Writer::add_tensor_from(const File& f, const TensorInfo& t) {
  if (!t.data) {
    throw util::Error(f.path() + ": tensor data is not mapped (opened with open_metadata?)");
  }
  add_tensor(t.name, t.dims, t.type, t.data, t.n_bytes);
}

Writer Writer::from_file(const File& f) {
  Writer w;
  w.kv_ = f.metadata();
  for (const TensorInfo& t : f.tensors()) w.add_tensor_from(f, t);
  return w;
}

std::vector<uint8_t> Writer::header() const {
  const uint64_t align = alignment();
  std::vector<uint8_t> out;
  Encoder e(out);
  out.insert(out.end(), {'G', 'G', 'U', 'F'});
  e.put<uint32_t>(3);
  e.put<uint64_t>(tensors_.size());
  e.put<uint64_t>(kv_.size());
  for (const auto& [key, v] : kv_) {
    e.str(key);
    e.put<uint32_t>(uint32_t(v.type));
    e.value(key, v, v.type);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    e.str(t.name);
    e.put<uint32_t>(uint32_t(t.dims.size()));
    for (int64_t d : t.dims) e.put<uint64_t>(uint64_t(d));
    e.put<uint32_t>(t.type);
    e.put<uint64_t>(offset);
    offset += align_up(t.n_bytes, align);
  }
  return out;
}

uint64_t Writer::file_size() const {
  const uint64_t align = alignment();
  uint64_t size = align_up(header().size(), align);
  for (const Tensor& t : tensors_) size += align_up(t.n_bytes, align);
  return size;
}

void Writer::write(const std::string& path, const Progress& progress) const {
  static std::atomic<int> counter{0};
  const std::string tmp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  int fd = -1;
  try {
    const uint64_t align = alignment();
    std::vector<uint8_t> head = header();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw util::Error(std::strerror(errno));
    FdWriter out(fd);
    out.write(head.data(), head.size());
    out.zeros(align_up(head.size(), align) - head.size());
    uint64_t total = 0, done = 0;
    for (const Tensor& t : tensors_) total += t.n_bytes;
    for (const Tensor& t : tensors_) {
      if (t.producer) {
        uint64_t got = 0;
        t.producer([&](const void* data, size_t n) {
          got += n;
          if (got > t.n_bytes) return;  // reported below; do not corrupt the next tensor
          out.write(data, n);
        });
        if (got != t.n_bytes) {
          throw util::Error("tensor '" + t.name + "' producer wrote " + std::to_string(got) +
                            " bytes, expected " + std::to_string(t.n_bytes));
        }
      } else {
        out.write(t.borrowed, t.n_bytes);
      }
      out.zeros(align_up(t.n_bytes, align) - t.n_bytes);
      done += t.n_bytes;
      if (progress) progress(done, total);
    }
    out.flush();
    if (::fsync(fd) != 0) throw util::Error(std::strerror(errno));
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0) throw util::Error(std::strerror(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw util::Error(std::strerror(errno));
  } catch (const std::exception& e) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    auto kind = util::ErrorKind::kInternal;
    if (auto* ue = dynamic_cast<const util::Error*>(&e)) kind = ue->kind();
    throw util::Error("write " + path + ": " + e.what(), kind);
  }
}

}  // namespace gguf
