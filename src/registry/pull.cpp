#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "registry/flight.h"
#include "registry/transfer.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

namespace fs = std::filesystem;

namespace registry {

std::vector<Part> plan_parts(int64_t total, int64_t part_min, int64_t part_max) {
  int64_t size = std::clamp<int64_t>(total / 16, part_min, part_max);
  std::vector<Part> parts;
  for (int64_t off = 0; off < total; off += size)
    parts.push_back({static_cast<int>(parts.size()), off, std::min(size, total - off), 0});
  if (parts.empty()) parts.push_back({0, 0, 0, 0});
  return parts;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string short_digest(const std::string& d) { return d.substr(7, 12); }

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load()) throw util::Error("context canceled", util::ErrorKind::kCancelled);
}

fs::path part_state_path(const fs::path& partial, int n) {
  return fs::path(partial.string() + "-" + std::to_string(n));
}

void save_part(const fs::path& partial, const Part& p) {
  nlohmann::json j = {
      {"N", p.n}, {"Offset", p.offset}, {"Size", p.size}, {"Completed", p.completed}};
  std::ofstream(part_state_path(partial, p.n), std::ios::trunc) << j.dump();
}

// Reuses part state from an earlier attempt when it matches this blob's plan.
std::vector<Part> load_parts(const fs::path& partial, int64_t total, const Options& o) {
  std::vector<Part> plan = plan_parts(total, o.part_min, o.part_max);
  std::error_code ec;
  if (!fs::exists(partial, ec) || fs::file_size(partial, ec) != static_cast<uintmax_t>(total))
    return plan;
  for (auto& p : plan) {
    std::ifstream in(part_state_path(partial, p.n));
    if (!in) continue;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object() || j.value("Offset", -1LL) != p.offset || j.value("Size", -1LL) != p.size)
      continue;
    p.completed = std::clamp<int64_t>(j.value("Completed", 0LL), 0, p.size);
  }
  return plan;
}

struct BlobDownload {
  BlobDownload(Client& c, const Options& o, std::string d, fs::path p, Flight& f)
      : client(c), opts(o), digest(std::move(d)), partial(std::move(p)), completed(f.completed) {}
  Client& client;
  const Options& opts;
  std::string digest;
  fs::path partial;
  int64_t total = 0;
  std::vector<Part> parts;
  std::mutex mu;
  std::atomic<int64_t>& completed;  // the flight's, so waiting pulls show progress
  std::string error;
  const std::atomic<bool>* cancel = nullptr;

  // The URL to GET ranges from: a cross-host redirect target (CDN) if the registry answers
  // with one, else the blob URL itself (a plain registry serves blobs inline).
  std::pair<std::string, bool> direct_url() {
    std::string url = client.url("/v2/" + client.repository() + "/blobs/" + digest);
    for (int hop = 0; hop < 10; hop++) {
      HttpRequest r;
      r.url = url;
      r.headers = {"Range: bytes=0-0"};
      r.on_body = [](const char*, size_t) { return true; };
      HttpResponse resp =
          url_origin(url) == url_origin(client.base()) ? client.send(r) : http_do(r);
      if (resp.status >= 300 && resp.status < 400) {
        auto loc = resp.headers.find("Location");
        if (loc == resp.headers.end()) break;
        std::string next = resolve_location(url, loc->second);
        if (url_origin(next) != url_origin(client.base())) return {next, false};
        url = next;
        continue;
      }
      if (resp.status >= 400)
        throw util::Error("download " + short_digest(digest) + ": " + std::to_string(resp.status) +
                          ": " + resp.body);
      break;
    }
    return {url, true};
  }

  void run_part(Part& p, const std::string& url, bool same_host) {
    int attempts = 0;
    while (p.completed < p.size) {
      check_cancel(cancel);
      int fd = ::open(partial.c_str(), O_WRONLY);
      if (fd < 0) throw util::Error("open " + partial.string() + ": cannot write");
      int64_t pos = p.offset + p.completed;
      HttpRequest r;
      r.url = url;
      r.cancel = cancel;
      r.stall_timeout_s = opts.stall_timeout_s;
      r.headers = {"Range: bytes=" + std::to_string(pos) + "-" +
                   std::to_string(p.offset + p.size - 1)};
      bool ok = false;
      std::string err;
      int64_t before = p.completed;
      r.on_body = [&](const char* data, size_t n) {
        int64_t room = p.size - p.completed;
        size_t take = static_cast<size_t>(std::min<int64_t>(room, static_cast<int64_t>(n)));
        if (::pwrite(fd, data, take, p.offset + p.completed) != static_cast<ssize_t>(take)) {
          err = "write " + partial.string() + ": no space left on device or I/O error";
          return false;
        }
        p.completed += static_cast<int64_t>(take);
        completed += static_cast<int64_t>(take);
        return true;
      };
      try {
        HttpResponse resp = same_host ? client.send(r) : http_do(r);
        if (resp.status == 206 || (resp.status == 200 && p.offset == 0 && pos == 0))
          ok = true;
        else
          err = "download " + short_digest(digest) + " part " + std::to_string(p.n) + ": HTTP " +
                std::to_string(resp.status);
      } catch (const util::Error& e) {
        if (e.kind() == util::ErrorKind::kCancelled) {
          ::close(fd);
          save_part(partial, p);
          throw;
        }
        err = e.what();
      }
      ::close(fd);
      save_part(partial, p);
      if (ok && p.completed >= p.size) return;
      if (err.find("no space left") != std::string::npos)
        throw util::Error(err, util::ErrorKind::kNoSpace);
      // A part that made progress does not use up an attempt (stall then resume).
      if (p.completed > before) continue;
      if (++attempts >= opts.part_attempts)
        throw util::Error(err.empty() ? "download failed" : err);
      LOG_WARN("{} part {} attempt {} failed ({}); retrying", short_digest(digest), p.n, attempts,
               err);
      std::this_thread::sleep_for(
          std::chrono::milliseconds(opts.base_backoff_ms << (attempts - 1)));
    }
  }

  void run(const ProgressFn& progress) {
    parts = load_parts(partial, total, opts);
    completed = 0;
    if (!fs::exists(partial) || fs::file_size(partial) != static_cast<uintmax_t>(total)) {
      int fd = ::open(partial.c_str(), O_CREAT | O_WRONLY, 0644);
      if (fd < 0 || ::ftruncate(fd, total) != 0) {
        if (fd >= 0) ::close(fd);
        throw util::Error("create " + partial.string() + ": cannot allocate");
      }
      ::close(fd);
      for (auto& p : parts) p.completed = 0;
    }
    for (auto& p : parts) {
      completed += p.completed;
      save_part(partial, p);
    }
    auto [url, same_host] = direct_url();
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    int n = std::min<int>(opts.max_parts_in_flight, static_cast<int>(parts.size()));
    std::atomic<int> running{n};
    auto worker = [&] {
      struct Done {
        std::atomic<int>& r;
        ~Done() { r--; }
      } done{running};
      while (!failed) {
        size_t i = next++;
        if (i >= parts.size()) return;
        try {
          run_part(parts[i], url, same_host);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> l(mu);
          if (error.empty()) error = e.what();
          failed = true;
        }
      }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < n; i++) threads.emplace_back(worker);
    std::string status = "pulling " + short_digest(digest);
    while (running > 0) {
      progress({status, digest, total, completed.load()});
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
    }
    for (auto& t : threads) t.join();
    if (!error.empty()) {
      check_cancel(cancel);
      throw util::Error(error);
    }
    progress({status, digest, total, completed.load()});
  }
};

// Holds an exclusive lock on a partial file for the life of a download: a second process
// pulling into the same store cannot write the same file.
class PartialLock {
 public:
  explicit PartialLock(const fs::path& partial) {
    fd_ = ::open(partial.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) throw util::Error("create " + partial.filename().string() + ": cannot write");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw util::Error("blob " + partial.filename().string() +
                            " is being downloaded by another process; try again when it finishes",
                        util::ErrorKind::kConflict);
    }
  }
  ~PartialLock() { ::close(fd_); }
  PartialLock(const PartialLock&) = delete;
  PartialLock& operator=(const PartialLock&) = delete;

 private:
  int fd_ = -1;
};

// Downloads one blob as the leader of its flight: parts into <blob>-partial, then the hash
// check and the rename, so waiting pulls find a verified blob when the flight lands.
void download_blob(store::Store& st, Client& client, const Options& opts, const store::Layer& layer,
                   Flight& flight, const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const fs::path final_path = st.blob_path(layer.digest);
  const fs::path partial(final_path.string() + "-partial");
  HttpRequest head;
  head.method = "HEAD";
  head.url = client.url("/v2/" + client.repository() + "/blobs/" + layer.digest);
  HttpResponse h = client.send(head);
  if (h.status == 404)
    throw util::Error("pull model manifest: blob " + layer.digest + " does not exist",
                      util::ErrorKind::kNotFound);
  auto cl = h.headers.find("Content-Length");
  int64_t total = layer.size;
  if (cl != h.headers.end()) {
    try {
      total = std::stoll(cl->second);
    } catch (const std::exception&) {
      throw util::Error("download " + short_digest(layer.digest) + ": bad Content-Length");
    }
  }
  if (total < 0) throw util::Error("download " + short_digest(layer.digest) + ": bad size");
  flight.total = total;
  PartialLock lock(partial);
  BlobDownload d(client, opts, layer.digest, partial, flight);
  d.cancel = cancel;
  d.total = total;
  d.run(progress);

  const std::string got = "sha256:" + util::sha256_file_hex(partial.string());
  for (auto& p : plan_parts(total, opts.part_min, opts.part_max)) {
    std::error_code ec;
    fs::remove(part_state_path(partial, p.n), ec);
  }
  if (got != layer.digest) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw util::Error("digest mismatch, file must be downloaded again: want " + layer.digest +
                      ", got " + got);
  }
  fs::rename(partial, final_path);
  st.record_verified(layer.digest);
}

// Makes one layer present and verified: a blob already in the store is kept when it still
// matches its digest (a corrupt one is downloaded again); a blob another pull is downloading
// is waited for.
void fetch_blob(store::Store& st, Client& client, const Options& opts, const store::Layer& layer,
                const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const std::string status = "pulling " + short_digest(layer.digest);
  for (;;) {
    check_cancel(cancel);
    if (st.has_blob(layer.digest)) {
      if (st.verify_blob(layer.digest)) {
        int64_t size = st.blob_size(layer.digest);
        progress({status, layer.digest, size, size});
        return;
      }
      LOG_WARN("blob {} does not match its digest; downloading it again", layer.digest);
      std::error_code ec;
      fs::remove(st.blob_path(layer.digest), ec);
    }
    const std::string key = st.blob_path(layer.digest).string();
    bool leader = false;
    std::shared_ptr<Flight> f = Flights::instance().join(key, &leader);
    if (leader) {
      try {
        download_blob(st, client, opts, layer, *f, progress, cancel);
      } catch (const util::Error& e) {
        Flights::instance().land(key, f, e.what(), e.kind());
        throw;
      } catch (const std::exception& e) {
        Flights::instance().land(key, f, e.what(), util::ErrorKind::kInternal);
        throw;
      }
      Flights::instance().land(key, f, "", util::ErrorKind::kInternal);
      continue;  // shows it as present
    }
    std::unique_lock l(f->mu);
    while (!f->done) {
      l.unlock();
      progress({status, layer.digest, f->total.load(), f->completed.load()});
      check_cancel(cancel);
      l.lock();
      f->cv.wait_for(l, std::chrono::milliseconds(100), [&] { return f->done; });
    }
    // The leader's client went away: this pull takes the download over.
    if (!f->error.empty() && f->kind != util::ErrorKind::kCancelled)
      throw util::Error(f->error, f->kind);
  }
}

}  // namespace

void pull(store::Store& st, const store::ModelName& name, const Options& opts,
          const ProgressFn& progress, const std::atomic<bool>* cancel, bool noprune) {
  Client client(name, opts);
  progress({"pulling manifest", "", 0, 0});
  HttpRequest mr;
  mr.url = client.url("/v2/" + client.repository() + "/manifests/" + name.tag);
  mr.headers = {
      "Accept: application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.oci.image.manifest.v1+json"};
  HttpResponse resp;
  try {
    resp = client.send(mr);
  } catch (const util::Error& e) {
    throw util::Error(std::string("pull model manifest: ") + e.what(),
                      e.kind() == util::ErrorKind::kUnauthorized ? util::ErrorKind::kUnauthorized
                                                                 : util::ErrorKind::kInternal);
  }
  if (resp.status == 404)
    throw util::Error("pull model manifest: file does not exist", util::ErrorKind::kNotFound);
  if (resp.status >= 400)
    throw util::Error("pull model manifest: " + std::to_string(resp.status) + ": " + resp.body);
  store::Manifest manifest = store::Manifest::parse(resp.body);
  std::vector<store::Layer> blobs = manifest.layers;
  blobs.push_back(manifest.config);

  for (const auto& layer : blobs) fetch_blob(st, client, opts, layer, progress, cancel);
  // Each downloaded blob was hashed before its rename; the status keeps Ollama's sequence.
  progress({"verifying sha256 digest", "", 0, 0});

  progress({"writing manifest", "", 0, 0});
  std::vector<std::string> old_digests;
  {
    // Deletions of other models (which collect unreferenced blobs) wait until the manifest
    // that references these blobs is in place.
    auto gc = st.gc_lock();
    for (const auto& layer : blobs)
      if (!st.has_blob(layer.digest))
        throw util::Error("blob " + layer.digest + " was removed during the pull; pull again");
    if (auto old = st.read_manifest(name)) old_digests = old->all_digests();
    st.write_manifest_bytes(name, resp.body);
  }
  if (!noprune && !old_digests.empty()) {
    progress({"removing unused layers", "", 0, 0});
    st.remove_unreferenced(old_digests);
  }
  progress({"success", "", 0, 0});
}

}  // namespace registry
