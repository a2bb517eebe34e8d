#include "util/duration.h"

#include <gtest/gtest.h>

#include "api/status.h"
#include "util/env.h"
#include "util/error.h"

using namespace util;

TEST(Duration, ParsesGoDurations) {
  EXPECT_EQ(parse_go_duration("5m"), 300 * kNanosPerSecond);
  EXPECT_EQ(parse_go_duration("1h30m"), 5400 * kNanosPerSecond);
  EXPECT_EQ(parse_go_duration("300ms"), 300'000'000);
  EXPECT_EQ(parse_go_duration("-1s"), -kNanosPerSecond);
  EXPECT_EQ(parse_go_duration("1.5s"), 1'500'000'000);
  EXPECT_EQ(parse_go_duration("0"), 0);
}

TEST(Duration, RejectsWithGoMessages) {
  try {
    parse_go_duration("3600");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "time: missing unit in duration \"3600\"");
    EXPECT_EQ(api::http_status(e.kind()), 400);
  }
  EXPECT_THROW(parse_go_duration("abc"), Error);
  EXPECT_THROW(parse_go_duration("5x"), Error);
  EXPECT_THROW(parse_go_duration(""), Error);
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(format_go_duration(0), "0s");
  EXPECT_EQ(format_go_duration(300 * kNanosPerSecond), "5m0s");
  EXPECT_EQ(format_go_duration(3600 * kNanosPerSecond), "1h0m0s");
  EXPECT_EQ(format_go_duration(1'500'000'000), "1.5s");
  EXPECT_EQ(format_go_duration(2'345'000), "2.345ms");
  EXPECT_EQ(format_go_duration(999), "999ns");
  EXPECT_EQ(format_go_duration(-kNanosPerSecond), "-1s");
}

TEST(Duration, KeepAliveEnv) {
  EXPECT_EQ(*parse_keep_alive_env("10m"), 600 * kNanosPerSecond);
  EXPECT_EQ(*parse_keep_alive_env("3600"), 3600 * kNanosPerSecond);
  EXPECT_EQ(*parse_keep_alive_env("-1"), kForever);
  EXPECT_EQ(*parse_keep_alive_env("-5m"), kForever);
  EXPECT_FALSE(parse_keep_alive_env("soon").has_value());
}

TEST(Env, ParsesOllamaHostForms) {
  auto a = parse_ollama_host("");
  EXPECT_EQ(a.client_url(), "http://127.0.0.1:11434");
  a = parse_ollama_host("0.0.0.0");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 11434);
  EXPECT_EQ(a.client_url(), "http://127.0.0.1:11434");
  a = parse_ollama_host(":8080");
  EXPECT_EQ(a.host, "0.0.0.0");  // all interfaces, as Go listens on ":8080"
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.client_url(), "http://127.0.0.1:8080");
  a = parse_ollama_host("http://box");
  EXPECT_EQ(a.host, "box");
  EXPECT_EQ(a.port, 80);
  a = parse_ollama_host("https://box/prefix");
  EXPECT_EQ(a.port, 443);
  EXPECT_EQ(a.path, "/prefix");
  a = parse_ollama_host(" \"[::1]:9000\" ");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9000);
  EXPECT_EQ(a.client_url(), "http://[::1]:9000");
  a = parse_ollama_host("example.com:99999");
  EXPECT_EQ(a.port, 11434);
  a = parse_ollama_host("ollama.com");
  EXPECT_EQ(a.client_url(), "https://ollama.com:443");
}

TEST(Env, Bools) {
  EXPECT_TRUE(parse_env_bool("1"));
  EXPECT_TRUE(parse_env_bool("true"));
  EXPECT_TRUE(parse_env_bool("yes-ish"));
  EXPECT_FALSE(parse_env_bool("0"));
  EXPECT_FALSE(parse_env_bool("false"));
  EXPECT_FALSE(parse_env_bool(""));
}
