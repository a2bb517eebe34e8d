// Minimal GGUF tensor locator for ops tests (the real reader lives in engine/, which ops
// tests must not depend on): reads a whole file and finds tensors by name.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ops_test {

struct MiniTensor {
  uint32_t type = 0;
  std::vector<int64_t> dims;
  uint64_t offset = 0;
  const uint8_t* data = nullptr;
};

class MiniGguf {
 public:
  explicit MiniGguf(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    buf_.assign(std::istreambuf_iterator<char>(f), {});
    if (buf_.size() < 24 || std::memcmp(buf_.data(), "GGUF", 4) != 0) {
      throw std::runtime_error("not a GGUF file: " + path);
    }
    pos_ = 8;
    const uint64_t n_tensors = get<uint64_t>(), n_kv = get<uint64_t>();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; i++) {
      const std::string key = str();
      const uint32_t vt = get<uint32_t>();
      if (key == "general.alignment" && vt == 4) {
        alignment = get<uint32_t>();
      } else {
        skip_value(vt);
      }
    }
    std::vector<std::pair<std::string, MiniTensor>> infos;
    for (uint64_t i = 0; i < n_tensors; i++) {
      MiniTensor t;
      const std::string name = str();
      const uint32_t nd = get<uint32_t>();
      for (uint32_t d = 0; d < nd; d++) t.dims.push_back(static_cast<int64_t>(get<uint64_t>()));
      t.type = get<uint32_t>();
      t.offset = get<uint64_t>();
      infos.emplace_back(name, t);
    }
    const uint64_t data_start = (pos_ + alignment - 1) / alignment * alignment;
    for (auto& [name, t] : infos) {
      t.data = reinterpret_cast<const uint8_t*>(buf_.data()) + data_start + t.offset;
      tensors_[name] = t;
    }
  }

  const MiniTensor& tensor(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("no tensor " + name);
    return it->second;
  }
  const std::map<std::string, MiniTensor>& tensors() const { return tensors_; }

 private:
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, buf_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    std::string s(buf_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  void skip_value(uint32_t vt) {
    static const int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (vt == 8) {
      str();
    } else if (vt == 9) {
      const uint32_t et = get<uint32_t>();
      const uint64_t n = get<uint64_t>();
      for (uint64_t i = 0; i < n; i++) skip_value(et);
    } else if (vt < 13) {
      pos_ += kSizes[vt];
    } else {
      throw std::runtime_error("bad GGUF value type");
    }
  }

  std::vector<char> buf_;
  size_t pos_ = 0;
  std::map<std::string, MiniTensor> tensors_;
};

}  // namespace ops_test
