// Blob verification records: a blob is hashed once, then trusted while its size and mtime
// stay what they were when it was verified.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cctype>
#include <cerrno>
#include <map>
#include <mutex>
#include <string>

#include "store/store.h"
#include "util/log.h"
#include "util/sha256.h"

namespace store {

namespace {

constexpr const char* kAttr = "user.ollama.verified";

}  // namespace

std::string Store::stat_record(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string Store::read_record(const std::string& path) const {
  char buf[128];
  ssize_t n = ::getxattr(path.c_str(), kAttr, buf, sizeof buf);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  std::lock_guard l(verified_->mu);
  auto it = verified_->records.find(path);
  return it == verified_->records.end() ? "" : it->second;
}

void Store::write_record(const std::string& path, const std::string& record) const {
  if (::setxattr(path.c_str(), kAttr, record.data(), record.size(), 0) == 0) return;
  std::lock_guard l(verified_->mu);
  verified_->records[path] = record;
}

void Store::record_verified(std::string_view digest) const {
  const std::string path = blob_path(digest).string();
  const std::string now = stat_record(path);
  if (!now.empty()) write_record(path, now);
}

bool Store::verify_blob(std::string_view digest) const {
  const std::string path = blob_path(digest).string();
  std::string now = stat_record(path);
  if (now.empty()) return false;
  if (read_record(path) == now) return true;
  std::lock_guard hash_lock(verified_->hash_mu);
  now = stat_record(path);
  if (now.empty()) return false;
  if (read_record(path) == now) return true;  // verified while we waited
  LOG_INFO("verifying blob {}", std::string(digest));
  const std::string got = "sha256:" + util::sha256_file_hex(path);
  std::string want(digest);
  for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (got != want) {
    LOG_WARN("blob {} is corrupt: its content hashes to {}", want, got);
    return false;
  }
  // Recorded as the file was when hashing began: a write during the hash changes its mtime and
  // leaves it unrecorded.
  write_record(path, now);
  return true;
}

}  // namespace store
