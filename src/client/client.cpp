#include "client/client.h"

#include <curl/curl.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>

#include "util/env.h"
#include "util/json.h"

namespace client {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// Go spells methods in title case in its transport errors: `Post "http://...": ...`.
std::string go_method(std::string_view m) {
  std::string s(m);
  for (size_t i = 1; i < s.size(); i++) s[i] = static_cast<char>(std::tolower(s[i]));
  return s;
}

// State shared with the libcurl callbacks of one transfer.
struct Transfer {
  CURL* curl = nullptr;
  std::string body;  // whole body (plain calls) or the unfinished line (streams)
  bool streaming = false;
  const Client::ObjectFn* on_object = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::exception_ptr error;  // thrown inside a callback, rethrown after curl returns
  bool cancelled = false;
  long status = 0;

  // Handles one complete NDJSON line (Ollama's client.stream rules).
  void line(std::string_view text) {
    if (text.empty()) return;
    json j = util::parse_json_or_discarded(text);
    if (j.is_discarded()) {
      if (status >= 400) {
        throw StatusError(static_cast<int>(status),
                          std::to_string(status) + " " + std::string(status_text(status)) + ": " +
                              std::string(text),
                          std::string(text));
      }
      throw util::Error(std::string(text));
    }
    std::string err;
    if (j.is_object()) {
      auto it = j.find("error");
      if (it != j.end() && it->is_string()) err = it->get<std::string>();
    }
    if (status >= 400) {
      std::string msg = std::to_string(status) + " " + std::string(status_text(status));
      if (!err.empty()) msg += ": " + err;
      throw StatusError(static_cast<int>(status), msg, err);
    }
    if (!err.empty()) throw util::Error(err);
    (*on_object)(j);
  }
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->cancel && t->cancel->load()) {
    t->cancelled = true;
    return 0;
  }
  if (!t->streaming) {
    t->body.append(data, len);
    return len;
  }
  if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
  try {
    std::string_view chunk(data, len);
    while (!chunk.empty()) {
      size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        t->body.append(chunk);
        if (t->body.size() > kMaxLineBytes) throw util::Error("bufio.Scanner: token too long");
        break;
      }
      t->body.append(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
      if (t->body.size() > kMaxLineBytes) throw util::Error("bufio.Scanner: token too long");
      std::string text = std::move(t->body);
      t->body.clear();
      if (!text.empty() && text.back() == '\r') text.pop_back();
      t->line(text);
    }
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel && t->cancel->load()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

// Builds a handle for method + url with Ollama's headers.
CurlPtr make_handle(std::string_view method, const std::string& url, bool ndjson, bool has_body,
                    SlistPtr& headers) {
  global_init();
  CurlPtr c(curl_easy_init());
  if (!c) throw util::Error("could not initialise libcurl");
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
  // Proxies are for registry traffic; our own server is reached directly (like Go's
  // client for loopback hosts, and it keeps a stray HTTP_PROXY from breaking the CLI).
  curl_easy_setopt(c.get(), CURLOPT_NOPROXY, "*");
  std::string m(method);
  if (m == "HEAD") {
    curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  } else if (m == "POST") {
    curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
  } else if (m != "GET") {
    curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  curl_slist* h = nullptr;
  if (has_body) h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, ndjson ? "Accept: application/x-ndjson" : "Accept: application/json");
  h = curl_slist_append(h, ("User-Agent: " + user_agent()).c_str());
  h = curl_slist_append(h, "Expect:");  // no 100-continue round trip on uploads
  if (auto keys = util::Config::from_env().api_keys(); !keys.empty())  // the first of a list
    h = curl_slist_append(h, ("Authorization: Bearer " + keys.front()).c_str());
  headers.reset(h);
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, h);
  return c;
}

// Runs the transfer; turns transport failures into TransportError with Go-like text.
void perform(CURL* c, Transfer& t, std::string_view method, const std::string& url) {
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  if (t.error) std::rethrow_exception(t.error);
  if (t.cancelled) throw Cancelled();
  if (rc != CURLE_OK) {
    bool refused = rc == CURLE_COULDNT_CONNECT;
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (refused) detail = "connect: connection refused";
    throw TransportError(go_method(method) + " \"" + url + "\": " + detail, refused);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
}

// checkError: a plain call's error is the body's {"error"} text, else the whole body.
[[noreturn]] void throw_status(long status, const std::string& body) {
  std::string msg;
  json j = util::parse_json_or_discarded(body);
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_string()) msg = it->get<std::string>();
  } else {
    msg = body;
  }
  std::string shown =
      msg.empty() ? "something went wrong, please see the ollama server logs for details" : msg;
  throw StatusError(static_cast<int>(status), shown, msg);
}

}  // namespace

std::string user_agent() {
#if defined(__x86_64__)
  const char* arch = "amd64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "unknown";
#endif
  return std::string("ollama/") + kVersion + " (" + arch + " linux) Go/go1.24.0";
}

Client::Client(std::string base_url) : base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Client Client::from_env() { return Client(util::Config::from_env().host.client_url()); }

void Client::heartbeat() const {
  try {
    call("HEAD", "/");
  } catch (const TransportError& e) {
    if (e.refused()) throw util::Error(kConnectError);
    throw;
  }
}

std::string Client::version() const {
  json j = call("GET", "/api/version");
  if (j.is_object() && j.contains("version") && j["version"].is_string())
    return j["version"].get<std::string>();
  return "";
}

json Client::call(std::string_view method, std::string_view path, const json& body) const {
  std::string url = base_url_ + std::string(path);
  SlistPtr headers;
  CurlPtr c = make_handle(method, url, false, !body.is_null(), headers);
  std::string payload;
  if (!body.is_null()) {
    payload = body.dump();
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload.size());
  }
  Transfer t;
  t.curl = c.get();
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
  perform(c.get(), t, method, url);
  if (t.status >= 400) throw_status(t.status, t.body);
  if (t.body.empty()) return nullptr;
  json j = util::parse_json_or_discarded(t.body);
  if (j.is_discarded()) throw util::Error("invalid JSON in response from " + url);
  return j;
}

void Client::stream(std::string_view method, std::string_view path, const json& body,
                    const ObjectFn& on_object, const std::atomic<bool>* cancel) const {
  std::string url = base_url_ + std::string(path);
  SlistPtr headers;
  CurlPtr c = make_handle(method, url, true, !body.is_null(), headers);
  std::string payload;
  if (!body.is_null()) {
    payload = body.dump();
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload.size());
  }
  Transfer t;
  t.curl = c.get();
  t.streaming = true;
  t.on_object = &on_object;
  t.cancel = cancel;
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
  if (cancel) {
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
  }
  perform(c.get(), t, method, url);
  // A final line without a trailing newline still counts.
  if (!t.body.empty()) {
    std::string text = std::move(t.body);
    t.body.clear();
    t.line(text);
  }
  if (t.status >= 400) {
    // An error status with an empty body: Ollama still reports the status.
    throw StatusError(static_cast<int>(t.status),
                      std::to_string(t.status) + " " + std::string(status_text(t.status)), "");
  }
}

bool Client::blob_exists(std::string_view digest) const {
  try {
    call("HEAD", "/api/blobs/" + std::string(digest));
    return true;
  } catch (const StatusError& e) {
    if (e.kind() == util::ErrorKind::kNotFound) return false;
    throw;
  }
}

namespace {
struct Upload {
  FILE* f = nullptr;
  int64_t sent = 0;
  int64_t total = 0;
  const Client::ProgressFn* progress = nullptr;
  std::exception_ptr error;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t got = std::fread(buf, 1, size * n, u->f);
  if (got == 0 && std::ferror(u->f)) return CURL_READFUNC_ABORT;
  u->sent += static_cast<int64_t>(got);
  if (u->progress && *u->progress) {
    try {
      (*u->progress)(u->sent, u->total);
    } catch (...) {
      u->error = std::current_exception();
      return CURL_READFUNC_ABORT;
    }
  }
  return got;
}
}  // namespace

void Client::upload_blob(std::string_view digest, const std::string& path,
                         const ProgressFn& progress) const {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw util::Error("open " + path + ": no such file or directory");
  std::fseek(f.get(), 0, SEEK_END);
  Upload u;
  u.f = f.get();
  u.total = std::ftell(f.get());
  u.progress = &progress;
  std::fseek(f.get(), 0, SEEK_SET);

  std::string url = base_url_ + "/api/blobs/" + std::string(digest);
  SlistPtr headers;
  CurlPtr c = make_handle("POST", url, false, false, headers);
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &u);
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u.total);
  Transfer t;
  t.curl = c.get();
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
  try {
    perform(c.get(), t, "POST", url);
  } catch (...) {
    if (u.error) std::rethrow_exception(u.error);
    throw;
  }
  if (t.status >= 400) throw_status(t.status, t.body);
}

}  // namespace client
