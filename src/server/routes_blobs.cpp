// HEAD/POST /api/blobs/:digest: existence check and streamed, hash-verified uploads (§6.3).
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "server/context.h"
#include "server/http.h"
#include "util/error.h"

namespace server {
namespace {

// Connects cpp-httplib's push-style body reader to the store's pull-style blob writer, one
// buffer in flight, so an upload of any size uses bounded memory.
class BytePipe {
 public:
  // Producer: hands over one buffer; waits while the previous one is unread. False once the
  // consumer gave up.
  bool push(std::string&& buf) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !has_full_ || aborted_; });
    if (aborted_) return false;
    full_ = std::move(buf);
    pos_ = 0;
    has_full_ = true;
    cv_.notify_all();
    return true;
  }
  // Producer: end of data (`ok`) or a broken transfer (the consumer's read then throws).
  void close(bool ok) {
    std::lock_guard lk(mu_);
    closed_ = true;
    broken_ = !ok;
    cv_.notify_all();
  }
  // Consumer: up to n bytes, 0 at the end. Throws when the client went away mid-body.
  size_t read(char* out, size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return has_full_ || closed_; });
    if (!has_full_) {
      if (broken_)
        throw util::Error("upload interrupted: client disconnected", util::ErrorKind::kCancelled);
      return 0;
    }
    size_t k = std::min(n, full_.size() - pos_);
    std::memcpy(out, full_.data() + pos_, k);
    pos_ += k;
    if (pos_ == full_.size()) {
      has_full_ = false;
      cv_.notify_all();
    }
    return k;
  }
  // Consumer: failed; further pushes are refused.
  void abort() {
    std::lock_guard lk(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string full_;
  size_t pos_ = 0;
  bool has_full_ = false, closed_ = false, broken_ = false, aborted_ = false;
};

constexpr size_t kChunk = size_t{1} << 20;

void head_blob(Context& ctx, Call& c) {
  std::string digest = c.param("digest");
  // A blob that no longer matches its digest is reported missing, so clients upload it again.
  if (!ctx.store->has_blob(digest) ||  // throws 400 "invalid digest format"
      !ctx.store->verify_blob(digest))
    throw util::not_found("blob \"" + digest + "\" not found");
  c.res.status = 200;
}

void post_blob(Context& ctx, Call& c) {
  std::string digest = c.param("digest");
  if (ctx.store->has_blob(digest) && ctx.store->verify_blob(digest)) {
    // The body is not wanted (the server drains a small one, closes after a large one).
    c.res.status = 200;
    return;
  }
  BytePipe pipe;
  std::exception_ptr failure;
  std::thread writer([&] {
    try {
      ctx.store->write_blob(digest, [&](char* buf, size_t n) { return pipe.read(buf, n); });
    } catch (...) {
      failure = std::current_exception();
      pipe.abort();
    }
  });
  std::string buf;
  buf.reserve(kChunk);
  bool ok = c.body.stream([&](const char* data, size_t n) {
    buf.append(data, n);
    if (buf.size() < kChunk) return true;
    if (!pipe.push(std::move(buf))) return false;
    buf = std::string();
    buf.reserve(kChunk);
    return true;
  });
  if (ok && !buf.empty()) ok = pipe.push(std::move(buf));
  pipe.close(ok);
  writer.join();
  if (failure) std::rethrow_exception(failure);
  if (!ok) throw util::Error("upload interrupted", util::ErrorKind::kBadRequest);
  c.res.status = 201;
}

}  // namespace

void add_blob_routes(Router& r, Context& ctx) {
  r.add("HEAD", "/api/blobs/:digest", [&ctx](Call& c) { head_blob(ctx, c); });
  r.add("POST", "/api/blobs/:digest", [&ctx](Call& c) { post_blob(ctx, c); });
}

}  // namespace server
