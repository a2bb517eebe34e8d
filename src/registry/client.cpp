#include "registry/client.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "api/version.h"
#include "registry/identity.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"

namespace registry {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// RFC 4648 §5 alphabet with padding, as Go's base64.URLEncoding writes it.
std::string base64url(std::string_view in) {
  std::string s = base64(std::string(in));
  for (auto& ch : s) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return s;
}

std::string host_of(const std::string& url) {
  std::string o = url_origin(url);
  auto p = o.find("://");
  return p == std::string::npos ? o : o.substr(p + 3);
}

}  // namespace

std::string user_agent() { return std::string("ollama/") + api::kVersion + " (amd64 linux) C++"; }

Challenge parse_challenge(const std::string& h) {
  Challenge c;
  size_t sp = h.find(' ');
  c.scheme = h.substr(0, sp);
  if (sp == std::string::npos) return c;
  // key="value" pairs separated by commas; values may hold commas and spaces inside quotes.
  size_t i = sp + 1;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) i++;
    size_t eq = h.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = h.substr(i, eq - i);
    std::string val;
    i = eq + 1;
    if (i < h.size() && h[i] == '"') {
      size_t end = h.find('"', i + 1);
      if (end == std::string::npos) end = h.size();
      val = h.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = h.find(',', i);
      if (end == std::string::npos) end = h.size();
      val = h.substr(i, end - i);
      i = end;
    }
    for (auto& ch : key) ch = static_cast<char>(std::tolower(ch));
    if (key == "realm")
      c.realm = val;
    else if (key == "service")
      c.service = val;
    else if (key == "scope")
      c.scope = val;
  }
  return c;
}

Client::Client(const store::ModelName& name, Options opts) : name_(name), opts_(std::move(opts)) {
  std::string scheme = name.scheme.empty() ? (opts_.insecure ? "http" : "https") : name.scheme;
  if (scheme == "http" && !opts_.insecure) throw util::bad_request("insecure protocol http");
  base_ = scheme + "://" + name.host;
}

void Client::authenticate(const std::string& header) {
  Challenge c = parse_challenge(header);
  if (c.scheme == "Basic" || c.scheme == "basic") {
    if (opts_.username.empty())
      throw util::Error("unauthorized: access denied", util::ErrorKind::kUnauthorized);
    auth_ = "Authorization: Basic " + base64(opts_.username + ":" + opts_.password);
    return;
  }
  if (c.realm.empty())
    throw util::Error("unauthorized: no realm in challenge", util::ErrorKind::kUnauthorized);
  if (host_of(c.realm) != host_of(base_) &&
      host_of(c.realm).substr(0, host_of(c.realm).find(':')) !=
          host_of(base_).substr(0, host_of(base_).find(':')))
    throw util::Error("realm host \"" + host_of(c.realm) + "\" does not match original host \"" +
                          host_of(base_) + "\"",
                      util::ErrorKind::kUnauthorized);
  std::string url = c.realm + (c.realm.find('?') == std::string::npos ? "?" : "&");
  url += "service=" + url_escape(c.service);
  size_t s = 0;
  while (s < c.scope.size()) {
    size_t e = c.scope.find(' ', s);
    if (e == std::string::npos) e = c.scope.size();
    if (e > s) url += "&scope=" + url_escape(c.scope.substr(s, e - s));
    s = e + 1;
  }
  url += "&ts=" + std::to_string(std::time(nullptr));
  unsigned char nonce[16];
  RAND_bytes(nonce, sizeof nonce);
  url += "&nonce=" + base64url(std::string_view(reinterpret_cast<const char*>(nonce), 16));
  HttpRequest req;
  req.url = url;
  req.headers.push_back("User-Agent: " + user_agent());
  if (!opts_.username.empty()) {
    req.headers.push_back("Authorization: Basic " + base64(opts_.username + ":" + opts_.password));
  } else if (!opts_.key_dir.empty()) {
    if (auto id = load_identity(opts_.key_dir))
      req.headers.push_back("Authorization: " + sign_token_request(*id, url));
  }
  HttpResponse r = http_do(req);
  if (r.status != 200)
    throw util::Error("unauthorized: token request failed: " + std::to_string(r.status),
                      util::ErrorKind::kUnauthorized);
  auto j = util::parse_json_or_discarded(r.body);
  std::string token;
  if (j.is_object()) token = j.value("token", j.value("access_token", ""));
  if (token.empty())
    throw util::Error("unauthorized: no token in realm response", util::ErrorKind::kUnauthorized);
  auth_ = "Authorization: Bearer " + token;
}

HttpResponse Client::send(HttpRequest req) {
  req.headers.push_back("User-Agent: " + user_agent());
  auto with_auth = [&](HttpRequest r) {
    if (!auth_.empty()) r.headers.push_back(auth_);
    return r;
  };
  HttpResponse r = http_do(with_auth(req));
  reached_ = true;
  if (r.status != 401) return r;
  auto it = r.headers.find("WWW-Authenticate");
  if (it == r.headers.end()) return r;
  LOG_DEBUG("registry challenge: {}", it->second);
  authenticate(it->second);
  r = http_do(with_auth(req));
  if (r.status == 401)
    throw util::Error("unauthorized: access denied", util::ErrorKind::kUnauthorized);
  return r;
}

}  // namespace registry
