// Content-addressed blob files: atomic verified writes (temp + hash + fsync + rename).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "store/store.h"
#include "util/error.h"
#include "util/sha256.h"

namespace store {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// An open temp file that is deleted unless release()d.
class TempFile {
 public:
  explicit TempFile(const fs::path& dir, const std::string& prefix) {
    std::string tmpl = (dir / (prefix + "XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_ = ::mkstemp(buf.data());
    if (fd_ < 0)
      throw util::Error("create temp file in " + dir.string() + ": " + std::strerror(errno));
    path_ = buf.data();
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write_all(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw util::Error("write " + path_ + ": " + std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  // fsync + 0644 + close; the data is durable before the rename makes it visible.
  void finish() {
    if (::fsync(fd_) != 0) throw util::Error("sync " + path_ + ": " + std::strerror(errno));
    ::fchmod(fd_, 0644);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw util::Error("close " + path_ + ": " + std::strerror(errno));
  }
  void rename_to(const fs::path& dst) {
    if (::rename(path_.c_str(), dst.c_str()) != 0)
      throw util::Error("rename " + path_ + " to " + dst.string() + ": " + std::strerror(errno));
    path_.clear();
  }

 private:
  int fd_ = -1;
  std::string path_;
};

// Streams `read` into `tmp` while hashing; returns hex digest and byte count.
std::string copy_and_hash(const ReadFn& read, TempFile& tmp, int64_t* n_out) {
  util::Sha256 h;
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  for (;;) {
    size_t n = read(buf.data(), buf.size());
    if (n == 0) break;
    h.update(buf.data(), n);
    tmp.write_all(buf.data(), n);
    total += static_cast<int64_t>(n);
  }
  *n_out = total;
  return h.hex_digest();
}

ReadFn istream_reader(std::istream& in, const std::string& what) {
  return [&in, what](char* buf, size_t n) -> size_t {
    in.read(buf, static_cast<std::streamsize>(n));
    if (in.bad()) throw util::Error("read " + what + ": I/O error");
    return static_cast<size_t>(in.gcount());
  };
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    throw util::Error("create directory " + path.parent_path().string() + ": " + ec.message());
  TempFile tmp(path.parent_path(), ".tmp-" + path.filename().string() + "-");
  tmp.write_all(bytes.data(), bytes.size());
  tmp.finish();
  tmp.rename_to(path);
}

fs::path Store::blob_path(std::string_view digest) const {
  if (!is_valid_digest(digest)) throw util::bad_request("invalid digest format");
  // Blob files are named by the lowercase hex sha256 computes; accept either case here.
  std::string name = "sha256-" + lower(digest.substr(7));
  return blobs_dir() / name;
}

bool Store::has_blob(std::string_view digest) const {
  std::error_code ec;
  return fs::is_regular_file(blob_path(digest), ec);
}

int64_t Store::blob_size(std::string_view digest) const {
  std::error_code ec;
  auto n = fs::file_size(blob_path(digest), ec);
  if (ec) throw util::not_found("blob " + std::string(digest) + " not found");
  return static_cast<int64_t>(n);
}

void Store::touch_blob(std::string_view digest) const {
  const std::string path = blob_path(digest).string();
  const std::string before = stat_record(path);
  const bool had_record = !before.empty() && read_record(path) == before;
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
  if (had_record && !ec) record_verified(digest);
}

int64_t Store::write_blob(std::string_view expected_digest, const ReadFn& read) {
  fs::path dst = blob_path(expected_digest);
  fs::create_directories(blobs_dir());
  TempFile tmp(blobs_dir(), ".tmp-blob-");
  int64_t n = 0;
  std::string hex = copy_and_hash(read, tmp, &n);
  std::string got = "sha256:" + hex;
  if (lower(expected_digest.substr(7)) != hex)
    throw util::bad_request("digest mismatch, expected \"" + std::string(expected_digest) +
                            "\", got \"" + got + "\"");
  tmp.finish();
  // An existing blob is kept (the temp is removed) unless it no longer matches its digest:
  // then the verified upload replaces it.
  if (has_blob(expected_digest) && verify_blob(expected_digest)) {
    touch_blob(expected_digest);
    return n;
  }
  tmp.rename_to(blobs_dir() / ("sha256-" + hex));
  record_verified(got);
  return n;
}

int64_t Store::write_blob_from_stream(std::string_view expected_digest, std::istream& in) {
  return write_blob(expected_digest, istream_reader(in, "request body"));
}

std::string Store::write_blob_from_file(const fs::path& src) {
  std::ifstream in(src, std::ios::binary);
  if (!in) throw util::Error("open " + src.string() + ": " + std::strerror(errno));
  fs::create_directories(blobs_dir());
  TempFile tmp(blobs_dir(), ".tmp-blob-");
  int64_t n = 0;
  std::string hex = copy_and_hash(istream_reader(in, src.string()), tmp, &n);
  std::string digest = "sha256:" + hex;
  tmp.finish();
  if (has_blob(digest) && verify_blob(digest)) {
    touch_blob(digest);
  } else {
    tmp.rename_to(blob_path(digest));
    record_verified(digest);
  }
  return digest;
}

Layer Store::write_blob_string(std::string_view data, std::string_view media_type, bool* created) {
  Layer l;
  l.media_type = std::string(media_type);
  l.digest = "sha256:" + util::sha256_hex(data);
  l.size = static_cast<int64_t>(data.size());
  bool exists = has_blob(l.digest) && verify_blob(l.digest);
  if (exists) {
    touch_blob(l.digest);
  } else {
    fs::create_directories(blobs_dir());
    TempFile tmp(blobs_dir(), ".tmp-blob-");
    tmp.write_all(data.data(), data.size());
    tmp.finish();
    tmp.rename_to(blob_path(l.digest));
    record_verified(l.digest);
  }
  if (created) *created = !exists;
  return l;
}

}  // namespace store
