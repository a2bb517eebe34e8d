// Read-only memory-mapped files (model weights are used in place; the exception is tensors
// repacked at load for the CPU's kernels, whose file pages are then released).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace util {

class MappedFile {
 public:
  // Maps the whole file read-only; throws util::Error naming the file on failure.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Anonymous read-write memory for large load-time copies (repacked weights): page-aligned to
// 2 MiB with transparent huge pages asked for (a few thousand faults for gigabytes instead of
// a million, and fewer TLB misses when decode streams it). Empty (data() == nullptr) when the
// system refuses the memory.
class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t n);
  ~PageBuffer();
  PageBuffer(PageBuffer&& o) noexcept { *this = std::move(o); }
  PageBuffer& operator=(PageBuffer&& o) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* map_ = nullptr;  // the whole mapping (data_ is its 2 MiB-aligned part)
  size_t map_size_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Drops the whole pages inside [p, p + n) of a read-only file mapping from this process
// (they stay in the page cache and fault back in if read again): for ranges copied elsewhere.
void release_pages(const void* p, size_t n);

}  // namespace util
