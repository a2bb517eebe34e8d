// The HTTP layer in-process: routing (404/405), error mapping, streaming helper semantics
// (early error keeps its status, late error becomes a line, stream:false keeps the last).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <thread>

#include "api/status.h"
#include "server/context.h"
#include "server/server.h"
#include "server/stream.h"
#include "util/error.h"

namespace server {
namespace {

namespace fs = std::filesystem;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("oc-http-test-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    ctx_.store = std::make_unique<store::Store>(root_);
    ctx_.running = std::make_unique<NoRunningModels>();
    ctx_.cors = std::make_unique<CorsPolicy>(std::vector<std::string>{});
    http_ = std::make_unique<HttpServer>(ctx_);
    auto& r = http_->router();
    r.add("POST", "/test/stream", [](Call& c) {
      auto body = c.json_body();
      bool stream = body.value("stream", true);
      std::string mode = body.value("mode", "ok");
      respond_stream(c.res, stream, [mode](StreamWriter& w) {
        if (mode == "early") throw util::bad_request("bad before start");
        w.send(json{{"status", "one"}});
        w.send(json{{"status", "two"}});
        if (mode == "late") throw util::Error("broke midway");
        w.send(json{{"status", "success"}});
      });
    });
    r.add("GET", "/test/throw", [](Call&) { throw std::runtime_error("boom"); });
    r.add("GET", "/test/item/:id", [](Call& c) {
      write_json(c.res, 200, {{"id", c.param("id")}});
    });
    port_ = http_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { http_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    for (int i = 0; i < 100 && !client_->Get("/"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    http_->stop();
    thread_.join();
    fs::remove_all(root_);
  }

  fs::path root_;
  Context ctx_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpTest, RoutingStatuses) {
  auto r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Ollama is running");
  r = client_->Get("/api/unknown");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "404 page not found");
  r = client_->Get("/api/tags/");
  EXPECT_EQ(r->status, 404);
  r = client_->Post("/api/tags", "{}", "application/json");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->body, "405 method not allowed");
  r = client_->Get("/test/item/abc");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"id":"abc"})");
  r = client_->Get("/test/throw");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"boom"})");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json; charset=utf-8");
}

TEST_F(HttpTest, StreamOk) {
  auto r = client_->Post("/test/stream", R"({"mode":"ok"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(r->body, "{\"status\":\"one\"}\n{\"status\":\"two\"}\n{\"status\":\"success\"}\n");
}

TEST_F(HttpTest, StreamEarlyErrorKeepsStatus) {
  auto r = client_->Post("/test/stream", R"({"mode":"early"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, R"({"error":"bad before start"})");
}

TEST_F(HttpTest, StreamLateErrorIsALine) {
  auto r = client_->Post("/test/stream", R"({"mode":"late"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"status\":\"one\"}\n{\"status\":\"two\"}\n{\"error\":\"broke midway\"}\n");
}

TEST_F(HttpTest, NonStreaming) {
  auto r = client_->Post("/test/stream", R"({"stream":false})", "application/json");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"success"})");
  r = client_->Post("/test/stream", R"({"stream":false,"mode":"late"})", "application/json");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"broke midway"})");
}

TEST_F(HttpTest, BodyErrors) {
  auto r = client_->Post("/api/show", "", "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, R"({"error":"missing request body"})");
  r = client_->Post("/api/show", "{", "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, R"({"error":"unexpected EOF"})");
  // The connection survives and the next request works.
  r = client_->Get("/api/version");
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpTest, CorsAndHostInPreRouting) {
  auto r = client_->Get("/api/version", {{"Origin", "http://evil.com"}});
  EXPECT_EQ(r->status, 403);
  r = client_->Get("/api/version", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://localhost:3000");
  r = client_->Get("/api/version", {{"Host", "attacker.example"}});
  EXPECT_EQ(r->status, 403);
  r = client_->Options("/api/chat", {{"Origin", "http://localhost"}});
  EXPECT_EQ(r->status, 204);
}

}  // namespace
}  // namespace server
