// CORS decisions and the DNS-rebinding Host check (server/access.h).
#include "server/access.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace server {
namespace {

std::string header(const CorsPolicy::Decision& d, const std::string& name) {
  std::string out;
  for (const auto& [k, v] : d.headers)
    if (k == name) out += (out.empty() ? "" : "|") + v;
  return out;
}

TEST(Cors, NoOriginIsNotCors) {
  CorsPolicy p({});
  auto d = p.decide("GET", "", "localhost:11434");
  EXPECT_EQ(d.status, 0);
  EXPECT_TRUE(d.headers.empty());
}

TEST(Cors, SameOriginSkipped) {
  CorsPolicy p({});
  auto d = p.decide("POST", "http://evil.com:80", "evil.com:80");
  EXPECT_EQ(d.status, 0);
  EXPECT_TRUE(d.headers.empty());
}

TEST(Cors, DefaultOrigins) {
  CorsPolicy p({});
  for (const char* o :
       {"http://localhost", "https://localhost", "http://localhost:8080", "https://127.0.0.1:1",
        "http://0.0.0.0:3000", "app://x", "file://", "tauri://localhost", "vscode-webview://abc",
        "vscode-file://vscode-app", "chrome-extension://id", "moz-extension://id"})
    EXPECT_TRUE(p.origin_allowed(o)) << o;
  for (const char* o : {"http://localhost.evil.com", "http://evil.com", "https://127.0.0.2", "null",
                        "http://127.0.0.1.nip.io"})
    EXPECT_FALSE(p.origin_allowed(o)) << o;
}

TEST(Cors, ExtraOriginsWithWildcards) {
  CorsPolicy p({"https://*.example.com", "http://exact.test", "http://a*b*c", "noscheme"});
  EXPECT_TRUE(p.origin_allowed("https://app.example.com"));
  EXPECT_FALSE(p.origin_allowed("https://example.com"));
  EXPECT_FALSE(p.origin_allowed("http://app.example.com"));
  EXPECT_TRUE(p.origin_allowed("http://exact.test"));
  EXPECT_TRUE(p.origin_allowed("HTTP://EXACT.TEST"));
  EXPECT_FALSE(p.origin_allowed("http://exact.test:1"));
  EXPECT_FALSE(p.origin_allowed("http://abc"));  // two-star entry ignored
  EXPECT_FALSE(p.origin_allowed("noscheme"));
  EXPECT_FALSE(p.allow_all());
}

TEST(Cors, AllowedAndRejected) {
  CorsPolicy p({});
  auto ok = p.decide("GET", "http://localhost:3000", "127.0.0.1:11434");
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(header(ok, "Vary"), "Origin");
  auto bad = p.decide("GET", "http://evil.com", "127.0.0.1:11434");
  EXPECT_EQ(bad.status, 403);
  EXPECT_TRUE(bad.headers.empty());
}

TEST(Cors, Preflight) {
  CorsPolicy p({});
  auto d = p.decide("OPTIONS", "http://localhost:3000", "127.0.0.1:11434");
  EXPECT_EQ(d.status, 204);
  EXPECT_EQ(header(d, "Access-Control-Allow-Methods"), "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
  EXPECT_EQ(header(d, "Access-Control-Allow-Headers"),
            "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,"
            "X-Stainless-Arch,X-Stainless-Async,X-Stainless-Custom-Poll-Interval,"
            "X-Stainless-Helper-Method,X-Stainless-Lang,X-Stainless-Os,"
            "X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,"
            "X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout,"
            "X-Api-Key,Anthropic-Version,Anthropic-Beta");
  EXPECT_EQ(header(d, "Access-Control-Max-Age"), "43200");
  EXPECT_EQ(header(d, "Access-Control-Allow-Origin"), "http://localhost:3000");
}

TEST(Cors, AllowAll) {
  CorsPolicy p({"*"});
  EXPECT_TRUE(p.allow_all());
  auto d = p.decide("GET", "http://anything", "127.0.0.1:11434");
  EXPECT_EQ(d.status, 0);
  EXPECT_EQ(header(d, "Access-Control-Allow-Origin"), "*");
}

TEST(HostCheck, Loopback) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.1.2.3"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("localhost"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("192.168.1.1"));
}

TEST(HostCheck, Rules) {
  for (const char* h :
       {"", "localhost", "LOCALHOST:11434", "127.0.0.1:11434", "[::1]:11434", "foo.localhost",
        "printer.local:631", "svc.internal", "10.0.0.1", "172.16.5.4", "172.31.255.255:1",
        "192.168.1.1", "0.0.0.0", "[fd00::1]", "::ffff:127.0.0.1"})
    EXPECT_EQ(host_check(true, "GET", h), 0) << h;
  for (const char* h : {"evil.com", "evil.com:11434", "8.8.8.8", "172.32.0.1", "localhost.evil",
                        "[2001:db8::1]:80", "local"})
    EXPECT_EQ(host_check(true, "GET", h), 403) << h;
  // Non-loopback binding accepts anything.
  EXPECT_EQ(host_check(false, "GET", "evil.com"), 0);
  // A preflight with an allowed host name is answered directly.
  EXPECT_EQ(host_check(true, "OPTIONS", "localhost"), 204);
  EXPECT_EQ(host_check(true, "OPTIONS", "127.0.0.1"), 0);
  EXPECT_EQ(host_check(true, "OPTIONS", "evil.com"), 403);
}

TEST(HostCheck, MachineHostname) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_TRUE(host_header_allowed(std::string(name) + ":11434"));
}

}  // namespace
TEST(ApiKeys, OffByDefaultThenEveryRouteButTheRootNeedsAKey) {
  ApiKeys none({});
  EXPECT_FALSE(none.enabled());
  EXPECT_TRUE(none.allows("POST", "/api/chat", "", ""));

  ApiKeys keys({"k1", "second-key"});
  EXPECT_TRUE(keys.enabled());
  EXPECT_TRUE(keys.allows("GET", "/", "", ""));
  EXPECT_TRUE(keys.allows("HEAD", "/", "", ""));
  EXPECT_TRUE(keys.allows("OPTIONS", "/api/chat", "", ""));  // CORS preflight
  EXPECT_FALSE(keys.allows("POST", "/", "", ""));
  EXPECT_FALSE(keys.allows("GET", "/api/tags", "", ""));
  EXPECT_TRUE(keys.allows("GET", "/api/tags", "Bearer k1", ""));
  EXPECT_TRUE(keys.allows("GET", "/api/tags", "bearer second-key", ""));
  EXPECT_TRUE(keys.allows("POST", "/v1/messages", "", "second-key"));
  for (const char* bad :
       {"Bearer k", "Bearer k1 ", "Bearer K1", "k1", "Basic k1", "Bearer ", "Bearer k1,second-key"})
    EXPECT_FALSE(keys.allows("GET", "/api/tags", bad, "")) << bad;
  EXPECT_FALSE(keys.allows("GET", "/api/tags", "", "k2"));
}

}  // namespace server
