#include "registry/http.h"

#include <curl/curl.h>
#include <strings.h>

#include <cstdio>

#include "util/error.h"

namespace registry {

bool CaseLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Ctx {
  const HttpRequest* req;
  HttpResponse* resp;
  FILE* upload = nullptr;
  int64_t upload_left = 0;
  bool sink_aborted = false;
};

size_t on_write(char* p, size_t sz, size_t n, void* ud) {
  auto* c = static_cast<Ctx*>(ud);
  size_t len = sz * n;
  if (c->req->on_body) {
    // Only successful bodies go to the sink; error bodies are kept for the message.
    if (c->resp->status >= 200 && c->resp->status < 300) {
      if (!c->req->on_body(p, len)) {
        c->sink_aborted = true;
        return 0;
      }
      return len;
    }
  }
  if (c->resp->body.size() < (8u << 20)) c->resp->body.append(p, len);
  return len;
}

size_t on_header(char* p, size_t sz, size_t n, void* ud) {
  auto* c = static_cast<Ctx*>(ud);
  std::string line(p, sz * n);
  if (line.rfind("HTTP/", 0) == 0) {
    c->resp->headers.clear();  // a new response (after a redirect or 100-continue)
    auto sp = line.find(' ');
    if (sp != std::string::npos) c->resp->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return sz * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    c->resp->headers[k] = v;
  }
  return sz * n;
}

size_t on_read(char* p, size_t sz, size_t n, void* ud) {
  auto* c = static_cast<Ctx*>(ud);
  size_t want = std::min<int64_t>(static_cast<int64_t>(sz * n), c->upload_left);
  size_t got = want ? std::fread(p, 1, want, c->upload) : 0;
  c->upload_left -= static_cast<int64_t>(got);
  return got;
}

// Go's http errors name the method as "Get", "Put", ...
std::string go_method(const std::string& m) {
  std::string v = m.empty() ? "Get" : m;
  for (size_t i = 1; i < v.size(); i++) v[i] = static_cast<char>(std::tolower(v[i]));
  return v;
}

int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* c = static_cast<Ctx*>(ud);
  return c->req->cancel && c->req->cancel->load() ? 1 : 0;
}

}  // namespace

HttpResponse http_do(const HttpRequest& req) {
  static CurlGlobal global;
  HttpResponse resp;
  Ctx ctx{&req, &resp};
  CURL* h = curl_easy_init();
  if (!h) throw util::Error("curl: cannot create handle");
  struct curl_slist* hl = nullptr;
  for (const auto& x : req.headers) hl = curl_slist_append(hl, x.c_str());
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &ctx);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.upload_path.empty()) {
      ctx.upload = std::fopen(req.upload_path.c_str(), "rb");
      if (!ctx.upload) {
        curl_slist_free_all(hl);
        curl_easy_cleanup(h);
        throw util::Error("open " + req.upload_path + ": cannot read file");
      }
      std::fseek(ctx.upload, static_cast<long>(req.upload_offset), SEEK_SET);
      ctx.upload_left = req.upload_size;
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &ctx);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.upload_size));
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
  CURLcode rc = curl_easy_perform(h);
  char* eff = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff) resp.effective_url = eff;
  curl_slist_free_all(hl);
  curl_easy_cleanup(h);
  if (ctx.upload) std::fclose(ctx.upload);
  if (rc != CURLE_OK) {
    std::string verb = go_method(req.method);
    if (ctx.sink_aborted) throw util::Error(verb + " \"" + req.url + "\": write failed");
    if (rc == CURLE_ABORTED_BY_CALLBACK)
      throw util::Error("context canceled", util::ErrorKind::kCancelled);
    throw util::Error(verb + " \"" + req.url + "\": " + curl_easy_strerror(rc));
  }
  return resp;
}

std::string url_origin(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) return url;
  auto end = url.find('/', p + 3);
  std::string o = url.substr(0, end);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(ch));
  return o;
}

std::string url_escape(const std::string& s) {
  std::string o;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      o += static_cast<char>(c);
    else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      o += buf;
    }
  }
  return o;
}

std::string resolve_location(const std::string& base, const std::string& loc) {
  if (loc.find("://") != std::string::npos) return loc;
  if (!loc.empty() && loc[0] == '/') return url_origin(base) + loc;
  auto q = base.find('?');
  std::string b = base.substr(0, q);
  return b.substr(0, b.rfind('/') + 1) + loc;
}

}  // namespace registry
