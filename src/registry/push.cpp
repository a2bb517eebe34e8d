#include <filesystem>
#include <thread>

#include "registry/transfer.h"
#include "util/error.h"
#include "util/log.h"

namespace fs = std::filesystem;

namespace registry {
namespace {

std::string short_digest(const std::string& d) { return d.substr(7, 12); }

std::string upload_location(const HttpResponse& r, const std::string& base_url) {
  for (const char* h : {"Docker-Upload-Location", "Location"}) {
    auto it = r.headers.find(h);
    if (it != r.headers.end() && !it->second.empty()) return resolve_location(base_url, it->second);
  }
  throw util::Error("registry did not return an upload location");
}

std::string with_query(const std::string& url, const std::string& kv) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + kv;
}

void push_blob(Client& c, const store::Store& st, const store::Layer& layer, const Options& opts,
               const ProgressFn& progress, const std::atomic<bool>* cancel) {
  std::string status = "pushing " + short_digest(layer.digest);
  std::string blob_url = c.url("/v2/" + c.repository() + "/blobs/" + layer.digest);
  HttpRequest head;
  head.method = "HEAD";
  head.url = blob_url;
  if (c.send(head).status == 200) {
    progress({status, layer.digest, layer.size, layer.size});
    return;
  }
  HttpRequest post;
  post.method = "POST";
  post.url = c.url("/v2/" + c.repository() + "/blobs/uploads/");
  if (!layer.from.empty()) {
    store::ModelName from = store::ModelName::parse(layer.from);
    if (from.is_valid() && store::equal_fold(from.host, c.name().host))
      post.url +=
          "?mount=" + layer.digest + "&from=" + url_escape(from.name_space + "/" + from.model);
  }
  HttpResponse r = c.send(post);
  if (r.status == 201) {  // mounted from another repository
    progress({status, layer.digest, layer.size, layer.size});
    return;
  }
  if (r.status != 202)
    throw util::Error("upload " + short_digest(layer.digest) + ": " + std::to_string(r.status) +
                      ": " + r.body);
  std::string location = upload_location(r, post.url);
  fs::path path = st.blob_path(layer.digest);
  int64_t total = static_cast<int64_t>(fs::file_size(path));
  int64_t done = 0;
  progress({status, layer.digest, total, 0});
  // Chunks go in order, one at a time: a plain registry appends each PATCH at its end.
  for (const Part& p : plan_parts(total, opts.part_min, opts.part_max)) {
    if (p.size == 0) break;
    if (cancel && cancel->load())
      throw util::Error("context canceled", util::ErrorKind::kCancelled);
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.upload_path = path.string();
    patch.upload_offset = p.offset;
    patch.upload_size = p.size;
    patch.cancel = cancel;
    patch.headers = {
        "Content-Type: application/octet-stream",
        "Content-Range: " + std::to_string(p.offset) + "-" + std::to_string(p.offset + p.size - 1),
        "X-Redirect-Uploads: 1", "Expect:"};
    // A failed PATCH may have been partly stored and a plain registry cannot resume in the
    // middle, so a failure retries the whole blob from a fresh upload session (caller).
    HttpResponse pr = c.send(patch);
    if (pr.status != 202 && pr.status != 201 && pr.status != 204)
      throw util::Error("upload " + short_digest(layer.digest) + ": " + std::to_string(pr.status) +
                        ": " + pr.body);
    location = upload_location(pr, location);
    done += p.size;
    progress({status, layer.digest, total, done});
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_query(location, "digest=" + layer.digest);
  put.headers = {"Content-Type: application/octet-stream"};
  HttpResponse pr = c.send(put);
  if (pr.status != 201 && pr.status != 204)
    throw util::Error("upload " + short_digest(layer.digest) +
                      ": finalize: " + std::to_string(pr.status) + ": " + pr.body);
  progress({status, layer.digest, total, total});
}

}  // namespace

void push(store::Store& st, const store::ModelName& name, const Options& opts,
          const ProgressFn& progress, const std::atomic<bool>* cancel) {
  progress({"retrieving manifest", "", 0, 0});
  auto bytes = st.read_manifest_bytes(name);
  if (!bytes) throw util::Error("couldn't retrieve manifest", util::ErrorKind::kNotFound);
  store::Manifest m = store::Manifest::parse(*bytes);
  if (store::equal_fold(name.host, "registry.ollama.ai") &&
      store::equal_fold(name.name_space, "library"))
    throw util::Error(
        "you are not authorized to push to this namespace, create the model under a namespace you "
        "own",
        util::ErrorKind::kUnauthorized);
  Client c(name, opts);
  std::vector<store::Layer> blobs = m.layers;
  blobs.push_back(m.config);
  for (const auto& layer : blobs) {
    for (int attempt = 1;; attempt++) {
      try {
        push_blob(c, st, layer, opts, progress, cancel);
        break;
      } catch (const util::Error& e) {
        if (e.kind() == util::ErrorKind::kCancelled || e.kind() == util::ErrorKind::kUnauthorized ||
            attempt >= opts.part_attempts)
          throw;
        if (!c.reached()) throw;  // nothing answered yet: unreachable, not a flaky transfer
        LOG_WARN("push {} attempt {} failed: {}", short_digest(layer.digest), attempt, e.what());
        std::this_thread::sleep_for(
            std::chrono::milliseconds(opts.base_backoff_ms << (attempt - 1)));
      }
    }
  }
  progress({"pushing manifest", "", 0, 0});
  HttpRequest put;
  put.method = "PUT";
  put.url = c.url("/v2/" + c.repository() + "/manifests/" + name.tag);
  put.headers = {"Content-Type: " + m.media_type};
  // The manifest is sent as stored, so its digest on the registry equals ours.
  put.body = *bytes;
  HttpResponse r = c.send(put);
  if (r.status != 201 && r.status != 200)
    throw util::Error("pushing manifest: " + std::to_string(r.status) + ": " + r.body);
  progress({"success", "", 0, 0});
}

}  // namespace registry
