#include "cli/format.h"

#include <gtest/gtest.h>

namespace cli {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(HumanBytes, DecimalUnitsLikeOllama) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(1000), "1 KB");
  EXPECT_EQ(human_bytes(1500), "1.5 KB");
  EXPECT_EQ(human_bytes(999999), "999 KB");  // >= 10: truncated integer
  EXPECT_EQ(human_bytes(1000000), "1 MB");
  EXPECT_EQ(human_bytes(1185376), "1.2 MB");  // stories260K.gguf
  EXPECT_EQ(human_bytes(2500000), "2.5 MB");
  EXPECT_EQ(human_bytes(10000000), "10 MB");
  EXPECT_EQ(human_bytes(19990000), "19 MB");
  EXPECT_EQ(human_bytes(2019000000), "2.0 GB");  // not whole: one decimal even if ".0"
  EXPECT_EQ(human_bytes(2000000000), "2 GB");
  EXPECT_EQ(human_bytes(4700000000000), "4.7 TB");
}

TEST(HumanNumber, ParameterCounts) {
  EXPECT_EQ(human_number(999), "999");
  EXPECT_EQ(human_number(260000), "260K");
  EXPECT_EQ(human_number(292672), "293K");
  EXPECT_EQ(human_number(1000000), "1M");
  EXPECT_EQ(human_number(1500000), "1.50M");
  EXPECT_EQ(human_number(567240000), "567.24M");
  EXPECT_EQ(human_number(7000000000), "7B");
  EXPECT_EQ(human_number(8030261248), "8.0B");
  EXPECT_EQ(human_number(3212749824), "3.2B");
}

TEST(HumanTime, PastAndFuture) {
  const int64_t now = 1'700'000'000 * kSec;
  auto ago = [&](int64_t d) { return human_time(now - d, now, false, "Never"); };
  EXPECT_EQ(human_time(0, now, true, "Never"), "Never");
  EXPECT_EQ(ago(0), "Less than a second ago");
  EXPECT_EQ(ago(1 * kSec), "1 second ago");
  EXPECT_EQ(ago(59 * kSec), "59 seconds ago");
  EXPECT_EQ(ago(60 * kSec), "About a minute ago");
  EXPECT_EQ(ago(119 * kSec), "About a minute ago");
  EXPECT_EQ(ago(120 * kSec), "2 minutes ago");
  EXPECT_EQ(ago(59 * 60 * kSec), "59 minutes ago");
  EXPECT_EQ(ago(60 * 60 * kSec), "About an hour ago");
  EXPECT_EQ(ago(89 * 60 * kSec), "About an hour ago");  // hours are rounded
  EXPECT_EQ(ago(90 * 60 * kSec), "2 hours ago");
  EXPECT_EQ(ago(24 * 3600 * kSec), "24 hours ago");
  EXPECT_EQ(ago(47 * 3600 * kSec), "47 hours ago");
  EXPECT_EQ(ago(48 * 3600 * kSec), "2 days ago");
  EXPECT_EQ(ago(13 * 24 * 3600 * kSec), "13 days ago");
  EXPECT_EQ(ago(14 * 24 * 3600 * kSec), "2 weeks ago");
  EXPECT_EQ(ago(59 * 24 * 3600 * kSec), "8 weeks ago");
  EXPECT_EQ(ago(60 * 24 * 3600 * kSec), "2 months ago");
  EXPECT_EQ(ago(729 * 24 * 3600 * kSec), "24 months ago");
  EXPECT_EQ(ago(730 * 24 * 3600 * kSec), "2 years ago");
  EXPECT_EQ(human_time(now + 4 * 60 * kSec + kSec / 2, now, false, "Never"), "4 minutes from now");
  EXPECT_EQ(human_time(now + 100ll * 365 * 24 * 3600 * kSec, now, false, "Never"), "Forever");
}

TEST(GoFloat, PercentGAndShortestF) {
  EXPECT_EQ(go_format_g(2048), "2048");
  EXPECT_EQ(go_format_g(131072), "131072");
  EXPECT_EQ(go_format_g(1000000), "1e+06");
  EXPECT_EQ(go_format_g(1234567), "1.234567e+06");
  EXPECT_EQ(go_format_g(1e-5), "1e-05");
  EXPECT_EQ(go_format_g(0.0001), "0.0001");
  EXPECT_EQ(go_format_g(0.5), "0.5");
  EXPECT_EQ(go_format_g(-3.25), "-3.25");
  EXPECT_EQ(go_format_g(0), "0");
  EXPECT_EQ(go_format_g(9.999999747378752e-06), "9.999999747378752e-06");
  EXPECT_EQ(go_format_f(1000000), "1000000");
  EXPECT_EQ(go_format_f(0.25), "0.25");
}

TEST(GoFloat, PercentVOfJson) {
  nlohmann::json j = nlohmann::json::parse(R"(["a", 1, 2.5, true, null, [1, 2], {"b": 1}])");
  EXPECT_EQ(go_format_v(j), "[a 1 2.5 true <nil> [1 2] map[b:1]]");
}

TEST(DisplayWidth, CountsColumns) {
  EXPECT_EQ(display_width("abc"), 3);
  EXPECT_EQ(display_width("▕█▏"), 3);
  EXPECT_EQ(display_width("日本"), 4);
  EXPECT_EQ(display_width("e\xcc\x81"), 1);  // e + combining acute
}

}  // namespace
}  // namespace cli
