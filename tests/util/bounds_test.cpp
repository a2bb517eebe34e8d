// Bounds on untrusted input at the util level: JSON nesting (Go's limit), stack headroom, and
// a compute pool that cannot leave threads behind when it fails to start.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>

#include <string>
#include <thread>

#include "api/status.h"
#include "util/error.h"
#include "util/json.h"
#include "util/stack.h"
#include "util/thread_pool.h"

namespace {

std::string nested(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(JsonDepth, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_EQ(util::json_nesting_depth("1"), 0);
  EXPECT_EQ(util::json_nesting_depth("[1,[2,{\"a\":[3]}]]"), 4);
  // Brackets inside strings, escaped quotes included, are text.
  EXPECT_EQ(util::json_nesting_depth(R"({"a":"[[[[\"[[[["})"), 1);
  EXPECT_EQ(util::json_nesting_depth(nested(50), 10), 11);  // stops counting past the limit
}

TEST(JsonDepth, GoLimitIsInclusive) {
  EXPECT_NO_THROW(util::parse_json(nested(util::kMaxJsonDepth)));
  try {
    util::parse_json(nested(util::kMaxJsonDepth + 1));
    FAIL() << "accepted depth " << util::kMaxJsonDepth + 1;
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "exceeded max depth");
  }
  EXPECT_TRUE(util::parse_json_or_discarded(nested(60000)).is_discarded());
  EXPECT_TRUE(util::parse_json_or_discarded("{").is_discarded());
  EXPECT_EQ(util::parse_json_or_discarded("[1]").size(), 1u);
}

TEST(JsonDepth, DeepestAcceptedValueRoundTrips) {
  // A value at the limit must survive what handlers do with it (copy, dump, compare).
  auto j = util::parse_json(nested(util::kMaxJsonDepth));
  auto copy = j;
  EXPECT_EQ(copy.dump().size(), nested(util::kMaxJsonDepth).size());
  EXPECT_TRUE(copy == j);
}

int recurse_until_refused(int depth) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  util::check_stack("test");
  return recurse_until_refused(depth + 1) + pad[0];
}

TEST(Stack, GuardRefusesBeforeTheStackEnds) {
  EXPECT_GT(util::stack_left(), util::kStackReserve);
  // On a small thread stack (512 KiB) the guard must throw well before a crash.
  std::string what;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  pthread_t tid;
  auto body = [](void* out) -> void* {
    try {
      recurse_until_refused(0);
    } catch (const util::Error& e) {
      *static_cast<std::string*>(out) = e.what();
    }
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&tid, &attr, body, &what), 0);
  pthread_join(tid, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(what, "test: nesting too deep");
}

TEST(ThreadPoolBounds, ThreadCountIsClamped) {
  util::ThreadPool small(-5);
  EXPECT_EQ(small.size(), 1);
  EXPECT_GE(util::available_cpus(), 1);
  EXPECT_LE(util::physical_cores(), util::available_cpus() * 2);
}

void start_pool_with_little_memory() {
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = 256u << 20;
  setrlimit(RLIMIT_AS, &rl);
  try {
    util::ThreadPool pool(200);
    std::_Exit(2);  // started them all: the limit did not bite
  } catch (const util::Error& e) {
    std::_Exit(api::http_status(e.kind()) == 503 ? 0 : 3);
  } catch (...) {
    std::_Exit(4);
  }
}

TEST(ThreadPoolBounds, FailedStartJoinsWhatItStartedAndThrows) {
  // In a child with a tiny address-space limit, starting 200 threads (8 MiB stacks) fails part
  // way: the pool must throw util::Error (503) and exit cleanly, not crash with workers left
  // reading a freed pool.
  EXPECT_EXIT(start_pool_with_little_memory(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
