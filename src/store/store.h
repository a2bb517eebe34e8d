// The model store on disk: content-addressed blobs and manifests under one root (§8.2-8.4).
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/manifest.h"
#include "store/name.h"

namespace store {

// One model as listed by /api/tags.
struct ListedModel {
  ModelName name;                            // as stored on disk (case preserved)
  std::filesystem::file_time_type modified;  // manifest file mtime
  int64_t mtime_unix_ns = 0;                 // same, as Unix nanoseconds (for JSON timestamps)
  int64_t size = 0;                          // config + layers
  std::string digest;  // hex sha256 of the manifest bytes (no "sha256:" prefix)
  Manifest manifest;
};

// Reads bytes into buf (up to n); returns the count, 0 at end of data. Throws on failure.
using ReadFn = std::function<size_t(char* buf, size_t n)>;

class Store {
 public:
  // root = $OLLAMA_MODELS. Creates blobs/ and manifests/ (0755) if missing.
  explicit Store(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blobs_dir() const { return root_ / "blobs"; }
  std::filesystem::path manifests_dir() const { return root_ / "manifests"; }

  // ---- blobs ----
  // <root>/blobs/sha256-<hex>. Throws util::bad_request("invalid digest format") if the
  // digest does not match ^sha256[:-][0-9a-fA-F]{64}$.
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  // Size of a present blob; throws util::Error 404 if absent.
  int64_t blob_size(std::string_view digest) const;
  // Sets the blob's mtime to now (protects a reused blob from the 1-hour prune rule). A
  // verification record that still matched is moved along with it.
  void touch_blob(std::string_view digest) const;

  // Whether the blob still holds what its name says. Every blob this store writes is recorded
  // as verified with its size and mtime (an extended attribute, or in memory where the file
  // system has none); a blob whose size or mtime no longer match its record, or that has no
  // record (written by another program), is hashed again and recorded when it matches. False
  // for a corrupt or missing blob.
  bool verify_blob(std::string_view digest) const;
  // Records a blob as verified as it is now (after this store wrote or hashed it).
  void record_verified(std::string_view digest) const;

  // Streams data into a temp file in blobs/, hashing as it goes, fsyncs, and renames to the
  // blob path only if the hash equals `expected_digest` ("sha256:<hex>"). Mismatch ->
  // util::bad_request("digest mismatch, expected \"<d1>\", got \"<d2>\""). Any failure
  // (read error, short write, disk full) removes the temp file and throws; no blob appears.
  // Returns the number of bytes written. If the blob already exists the stream is still
  // consumed and verified but the existing blob is kept.
  int64_t write_blob(std::string_view expected_digest, const ReadFn& read);
  int64_t write_blob_from_stream(std::string_view expected_digest, std::istream& in);
  // Hashes `data`, writes it as a blob (if absent) and returns its Layer {media_type, digest,
  // size}. Touches an existing blob. *created (optional) tells whether the blob is new.
  Layer write_blob_string(std::string_view data, std::string_view media_type,
                          bool* created = nullptr);
  // Copies a file into the store (hash computed while copying) and returns its digest
  // "sha256:<hex>". Same atomicity as write_blob.
  std::string write_blob_from_file(const std::filesystem::path& src);

  // ---- manifests ----
  // Path of a name's manifest file (does not check existence).
  std::filesystem::path manifest_path(const ModelName& name) const;
  // Maps each part to the spelling already on disk (case-insensitive match, §8.1), so
  // "Llama3.2" finds "llama3.2" and a new tag reuses an existing model directory.
  ModelName resolve(const ModelName& name) const;
  // Reads and parses the manifest of `name` (resolved case-insensitively). nullopt if absent;
  // throws util::Error if present but unreadable/corrupt.
  std::optional<Manifest> read_manifest(const ModelName& name) const;
  // Raw manifest bytes (nullopt if absent).
  std::optional<std::string> read_manifest_bytes(const ModelName& name) const;
  // Hex sha256 of the manifest file bytes; nullopt if absent.
  std::optional<std::string> manifest_digest(const ModelName& name) const;
  // Writes manifest.to_json() atomically (temp + rename), creating directories (0755).
  void write_manifest(const ModelName& name, const Manifest& m);
  // Writes raw manifest bytes as received from a registry (atomic).
  void write_manifest_bytes(const ModelName& name, std::string_view bytes);

  // Every manifest with a valid name, most recently modified first. Corrupt manifests are
  // skipped with a warning.
  std::vector<ListedModel> list() const;

  // Copies the manifest file byte for byte. Throws util::not_found("model \"<src>\" not found")
  // (src display_shortest form as given) when the source is missing.
  void copy(const ModelName& src, const ModelName& dst);
  // Removes the manifest, prunes empty manifest directories and deletes blobs no longer
  // referenced by any manifest (unless noprune). Throws util::not_found("model '<name>' not
  // found") when absent.
  void remove(const ModelName& name, bool noprune = false);

  // Deletes blobs in `candidates` that no manifest references (used after create/pull
  // overwrote a tag). Skips when any manifest is corrupt.
  void remove_unreferenced(const std::vector<std::string>& candidates);

  // Start-up GC (§8.4): renames old "sha256:<hex>" blob names, then, if every manifest
  // parses, deletes blob files older than `min_age` that are not valid blob names or not
  // referenced, and removes empty manifest directories. Returns the number of blobs removed.
  int prune(std::chrono::seconds min_age = std::chrono::hours(1));

  // Every digest ("sha256:<hex>") referenced by some manifest. Throws if a manifest is
  // corrupt.
  std::vector<std::string> referenced_digests() const;

  // Serializes blob deletion (remove, remove_unreferenced, prune take it) against writers
  // whose new blobs are not referenced by a manifest yet: create holds it from its first read
  // to its manifest write; a pull should hold it while writing blobs + manifest. Recursive,
  // and shared by copies of this Store.
  std::unique_lock<std::recursive_mutex> gc_lock() const {
    return std::unique_lock<std::recursive_mutex>(*gc_mu_);
  }

 private:
  void remove_empty_manifest_dirs() const;
  std::filesystem::path root_;
  std::shared_ptr<std::recursive_mutex> gc_mu_ = std::make_shared<std::recursive_mutex>();
  // Verification records where the file system keeps no extended attributes (for this
  // process's life), and one full hash at a time.
  struct Verified {
    std::mutex mu;
    std::map<std::string, std::string> records;  // blob path -> record
    std::mutex hash_mu;
  };
  // "<size> <mtime>" of a regular file, "" when it cannot be read.
  static std::string stat_record(const std::string& path);
  std::string read_record(const std::string& path) const;
  void write_record(const std::string& path, const std::string& record) const;
  std::shared_ptr<Verified> verified_ = std::make_shared<Verified>();
};

// Atomically writes a file (temp in the same directory, fsync, rename, 0644).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace store
