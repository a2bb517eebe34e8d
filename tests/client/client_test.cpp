#include "client/client.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "api/status.h"
#include "client/mini_server.h"

namespace client {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A port nothing listens on: bind, read the port, close.
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST(Client, HeartbeatRefusedIsOllamasMessage) {
  Client c("http://127.0.0.1:" + std::to_string(closed_port()));
  EXPECT_EQ(error_of([&] { c.heartbeat(); }),
            "could not connect to ollama server, run 'ollama serve' to start it");
  // Other calls keep Go's transport wording.
  std::string e = error_of([&] { c.call("GET", "/api/tags"); });
  EXPECT_NE(e.find("Get \"http://127.0.0.1:"), std::string::npos) << e;
  EXPECT_NE(e.find("connection refused"), std::string::npos) << e;
}

TEST(Client, JsonCallSendsHeadersAndParses) {
  MiniServer s(
      [](const SeenRequest&) { return MiniServer::response(200, "OK", R"({"version":"1.2.3"})"); });
  Client c(s.url() + "/");
  EXPECT_EQ(c.version(), "1.2.3");
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/version");
  EXPECT_NE(reqs[0].headers.find("User-Agent: ollama/"), std::string::npos);
  EXPECT_NE(reqs[0].headers.find("Accept: application/json"), std::string::npos);
}

TEST(Client, StatusErrorsCarryServerMessage) {
  MiniServer s([](const SeenRequest& r) {
    if (r.path == "/api/show")
      return MiniServer::response(404, "Not Found", R"({"error":"model 'x' not found"})");
    if (r.path == "/plain")
      return MiniServer::response(404, "Not Found", "404 page not found", "text/plain");
    return MiniServer::response(500, "Internal Server Error", "{}");
  });
  Client c(s.url());
  try {
    c.call("POST", "/api/show", {{"model", "x"}});
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(api::http_status(e.kind()), 404);
    EXPECT_STREQ(e.what(), "model 'x' not found");
  }
  EXPECT_EQ(error_of([&] { c.call("GET", "/plain"); }), "404 page not found");
  EXPECT_EQ(error_of([&] { c.call("GET", "/other"); }),
            "something went wrong, please see the ollama server logs for details");
  auto reqs = s.requests();
  EXPECT_EQ(reqs[0].body, R"({"model":"x"})");
  EXPECT_NE(reqs[0].headers.find("Content-Type: application/json"), std::string::npos);
}

TEST(Client, StreamDeliversLinesAndStopsAtErrorLine) {
  MiniServer s([](const SeenRequest&) {
    return MiniServer::response(200, "OK",
                                "{\"status\":\"a\"}\n\n{\"status\":\"b\"}\n{\"error\":\"boom\"}\n"
                                "{\"status\":\"never\"}\n",
                                "application/x-ndjson");
  });
  Client c(s.url());
  std::vector<std::string> got;
  std::string e = error_of([&] {
    c.stream("POST", "/api/create", {{"model", "m"}},
             [&](const json& j) { got.push_back(j["status"]); });
  });
  EXPECT_EQ(e, "boom");
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(s.requests()[0].headers.find("Accept: application/x-ndjson"), std::string::npos);
}

TEST(Client, StreamStatusErrorHasCodeAndReason) {
  MiniServer s([](const SeenRequest&) {
    return MiniServer::response(400, "Bad Request", R"({"error":"invalid model name"})");
  });
  Client c(s.url());
  try {
    c.stream("POST", "/api/create", {{"model", "m"}}, [](const json&) {});
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "400 Bad Request: invalid model name");
    EXPECT_EQ(e.server_message(), "invalid model name");
  }
}

TEST(Client, StreamRejectsOverlongLine) {
  MiniServer s([](const SeenRequest&) {
    return MiniServer::response(200, "OK", "\"" + std::string(kMaxLineBytes + 10, 'x') + "\"\n");
  });
  Client c(s.url());
  EXPECT_EQ(error_of([&] { c.stream("GET", "/", nullptr, [](const json&) {}); }),
            "bufio.Scanner: token too long");
}

TEST(Client, CancelledStreamStops) {
  MiniServer s(
      [](const SeenRequest&) { return MiniServer::response(200, "OK", "{\"n\":1}\n{\"n\":2}\n"); });
  Client c(s.url());
  std::atomic<bool> cancel{true};
  EXPECT_THROW(c.stream(
                   "POST", "/api/generate", {{"model", "m"}}, [](const json&) {}, &cancel),
               Cancelled);
}

TEST(Client, UploadBlobStreamsFileWithProgress) {
  MiniServer s([](const SeenRequest& r) {
    if (r.method == "HEAD") return MiniServer::response(404, "Not Found", "");
    return MiniServer::response(201, "Created", "");
  });
  char path[] = "/tmp/client-upload-XXXXXX";
  int fd = mkstemp(path);
  std::string content(300000, 'q');
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
  Client c(s.url());
  EXPECT_FALSE(c.blob_exists("sha256:abc"));
  int64_t last_sent = 0, last_total = 0;
  c.upload_blob("sha256:abc", path, [&](int64_t sent, int64_t total) {
    EXPECT_GE(sent, last_sent);
    last_sent = sent, last_total = total;
  });
  std::remove(path);
  EXPECT_EQ(last_sent, 300000);
  EXPECT_EQ(last_total, 300000);
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].path, "/api/blobs/sha256:abc");
  EXPECT_EQ(reqs[1].body, content);
  EXPECT_EQ(error_of([&] { c.upload_blob("sha256:abc", "/nonexistent/file"); }),
            "open /nonexistent/file: no such file or directory");
}

TEST(Client, StatusText) {
  EXPECT_EQ(status_text(404), "Not Found");
  EXPECT_EQ(status_text(499), "");
}

}  // namespace
}  // namespace client

namespace client {
namespace {

TEST(Client, PathPrefixFromHostIsKept) {
  MiniServer s(
      [](const SeenRequest&) { return MiniServer::response(200, "OK", R"({"models":[]})"); });
  Client c(s.url() + "/ollama/");
  EXPECT_EQ(c.call("GET", "/api/tags"), json::parse(R"({"models":[]})"));
  EXPECT_EQ(s.requests()[0].path, "/ollama/api/tags");
}

}  // namespace
}  // namespace client
