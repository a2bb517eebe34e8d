// Manifests on disk: read/write, case-insensitive name resolution, list, copy, delete.
#include "store/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

namespace store {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw util::Error("read " + p.string() + ": I/O error");
  return ss.str();
}

// The entry of `dir` whose name equals `part` case-insensitively, preferring an exact match.
std::optional<std::string> find_fold(const fs::path& dir, const std::string& part) {
  // Listing (rather than stat) reports the on-disk case even on case-insensitive filesystems.
  std::error_code ec;
  std::optional<std::string> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name == part) return name;
    if (!found && equal_fold(name, part)) found = name;
  }
  return found;
}

}  // namespace

Store::Store(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(blobs_dir(), ec);
  if (ec) throw util::Error("create " + blobs_dir().string() + ": " + ec.message());
  fs::create_directories(manifests_dir(), ec);
  if (ec) throw util::Error("create " + manifests_dir().string() + ": " + ec.message());
}

// Every regular file at manifests/<host>/<ns>/<model>/<tag>, as (name, path).
static std::vector<std::pair<ModelName, fs::path>> manifest_files(const fs::path& dir) {
  std::vector<std::pair<ModelName, fs::path>> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() != 3) continue;
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    ModelName n = ModelName::from_filepath(rel);
    if (!n.is_valid()) {
      LOG_DEBUG("skipping manifest with invalid name: {}", rel);
      continue;
    }
    out.emplace_back(std::move(n), it->path());
  }
  return out;
}

fs::path Store::manifest_path(const ModelName& name) const {
  return manifests_dir() / name.host / name.name_space / name.model / name.tag;
}

ModelName Store::resolve(const ModelName& name) const {
  ModelName out = name;
  // Walk the directory tree: each part takes the spelling of a matching directory.
  fs::path dir = manifests_dir();
  std::string* parts[4] = {&out.host, &out.name_space, &out.model, &out.tag};
  int matched = 0;
  for (; matched < 4; ++matched) {
    auto found = find_fold(dir, *parts[matched]);
    if (!found) break;
    *parts[matched] = *found;
    dir /= *found;
  }
  if (matched == 4) return out;
  // Parts below a new directory take the spelling used by any stored name (Ollama compares
  // every part against every manifest), e.g. a tag "Latest" becomes "latest".
  for (const auto& [n, path] : manifest_files(manifests_dir())) {
    const std::string* stored[4] = {&n.host, &n.name_space, &n.model, &n.tag};
    for (int i = matched; i < 4; ++i)
      if (equal_fold(*stored[i], *parts[i])) *parts[i] = *stored[i];
  }
  return out;
}

std::optional<std::string> Store::read_manifest_bytes(const ModelName& name) const {
  return read_file(manifest_path(resolve(name)));
}

std::optional<Manifest> Store::read_manifest(const ModelName& name) const {
  auto bytes = read_manifest_bytes(name);
  if (!bytes) return std::nullopt;
  try {
    return Manifest::parse(*bytes);
  } catch (const util::Error& e) {
    throw util::Error("manifest " + name.display_shortest() + ": " + e.what());
  }
}

std::optional<std::string> Store::manifest_digest(const ModelName& name) const {
  auto bytes = read_manifest_bytes(name);
  if (!bytes) return std::nullopt;
  return util::sha256_hex(*bytes);
}

void Store::write_manifest(const ModelName& name, const Manifest& m) {
  write_manifest_bytes(name, m.to_json());
}

void Store::write_manifest_bytes(const ModelName& name, std::string_view bytes) {
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  write_file_atomic(manifest_path(resolve(name)), bytes);
}

std::vector<ListedModel> Store::list() const {
  std::vector<ListedModel> out;
  for (auto& [n, path] : manifest_files(manifests_dir())) {
    std::optional<std::string> bytes;
    try {
      bytes = read_file(path);
    } catch (const std::exception& e) {
      LOG_WARN("skipping manifest {}: {}", path.string(), e.what());
      continue;
    }
    if (!bytes) continue;
    ListedModel lm;
    try {
      lm.manifest = Manifest::parse(*bytes);
    } catch (const std::exception& e) {
      LOG_WARN("skipping corrupt manifest {}: {}", path.string(), e.what());
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0)
      lm.mtime_unix_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    std::error_code ec;
    lm.modified = fs::last_write_time(path, ec);
    lm.name = n;
    lm.size = lm.manifest.total_size();
    lm.digest = util::sha256_hex(*bytes);
    out.push_back(std::move(lm));
  }
  std::stable_sort(out.begin(), out.end(), [](const ListedModel& a, const ListedModel& b) {
    return a.mtime_unix_ns > b.mtime_unix_ns;
  });
  return out;
}

void Store::copy(const ModelName& src, const ModelName& dst) {
  auto bytes = read_manifest_bytes(src);
  if (!bytes) throw util::not_found("model \"" + src.display_shortest() + "\" not found");
  write_manifest_bytes(dst, *bytes);
}

void Store::remove(const ModelName& name, bool noprune) {
  auto lock = gc_lock();
  fs::path path = manifest_path(resolve(name));
  auto bytes = read_file(path);
  if (!bytes) throw util::not_found("model '" + name.display_shortest() + "' not found");
  std::vector<std::string> digests;
  try {
    digests = Manifest::parse(*bytes).all_digests();
  } catch (const std::exception& e) {
    LOG_WARN("removing corrupt manifest {}: {}", path.string(), e.what());
  }
  std::error_code ec;
  if (!fs::remove(path, ec) || ec)
    throw util::Error("remove " + path.string() + ": " + ec.message());
  remove_empty_manifest_dirs();
  if (!noprune) remove_unreferenced(digests);
}

std::vector<std::string> Store::referenced_digests() const {
  std::set<std::string> seen;
  for (const auto& [n, path] : manifest_files(manifests_dir())) {
    auto bytes = read_file(path);
    if (!bytes) continue;
    Manifest m;
    try {
      m = Manifest::parse(*bytes);
    } catch (const util::Error& e) {
      throw util::Error("manifest " + path.string() + ": " + e.what());
    }
    for (auto& d : m.all_digests()) {
      if (!is_valid_digest(d)) continue;
      std::string norm = "sha256:" + d.substr(7);
      for (char& c : norm) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.insert(norm);
    }
  }
  return {seen.begin(), seen.end()};
}

void Store::remove_unreferenced(const std::vector<std::string>& candidates) {
  auto lock = gc_lock();
  std::vector<std::string> used;
  try {
    used = referenced_digests();
  } catch (const std::exception& e) {
    LOG_WARN("not removing unused blobs: {}", e.what());
    return;
  }
  std::set<std::string> used_set(used.begin(), used.end());
  for (const auto& d : candidates) {
    if (!is_valid_digest(d)) continue;
    std::string norm = "sha256:" + d.substr(7);
    for (char& c : norm) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (used_set.count(norm)) continue;
    std::error_code ec;
    fs::remove(blob_path(norm), ec);
    if (ec) LOG_WARN("couldn't remove blob {}: {}", norm, ec.message());
  }
}

void Store::remove_empty_manifest_dirs() const {
  // Deepest first, so a model directory emptied of its last tag goes, then its namespace...
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(manifests_dir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return a.string().size() > b.string().size();
  });
  for (const auto& d : dirs) {
    if (fs::is_empty(d, ec)) fs::remove(d, ec);
  }
}

int Store::prune(std::chrono::seconds min_age) {
  auto lock = gc_lock();
  std::error_code ec;
  // Very old stores named blobs "sha256:<hex>".
  for (fs::directory_iterator it(blobs_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() == 71 && name.compare(0, 7, "sha256:") == 0 && is_valid_digest(name)) {
      std::string fixed = "sha256-" + name.substr(7);
      std::error_code rec;
      fs::rename(it->path(), blobs_dir() / fixed, rec);
      if (rec) LOG_WARN("couldn't rename blob {}: {}", name, rec.message());
    }
  }
  std::set<std::string> used;
  try {
    for (auto& d : referenced_digests()) used.insert("sha256-" + d.substr(7));
  } catch (const std::exception& e) {
    LOG_WARN("skipping blob pruning: {}", e.what());
    remove_empty_manifest_dirs();
    return 0;
  }
  auto cutoff = fs::file_time_type::clock::now() - min_age;
  int removed = 0;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(blobs_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) files.push_back(it->path());
  }
  for (const auto& path : files) {
    std::error_code fec;
    std::string name = path.filename().string();
    if (fs::last_write_time(path, fec) > cutoff || fec) continue;
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool valid = name.size() == 71 && name.compare(0, 7, "sha256-") == 0 && is_valid_digest(name);
    if (valid && used.count(lower)) continue;
    if (fs::remove(path, fec)) ++removed;
  }
  LOG_INFO("total blobs: {}", files.size());
  LOG_INFO("total unused blobs removed: {}", removed);
  remove_empty_manifest_dirs();
  return removed;
}

}  // namespace store
