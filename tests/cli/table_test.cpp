#include "cli/table.h"

#include <gtest/gtest.h>

#include "cli/commands.h"

namespace cli {
namespace {

TEST(Table, ListLayoutMatchesOllama) {
  // Rows end with the 4-space padding; the header's last cell is followed by one space.
  std::string out = render_table({"NAME", "ID", "SIZE", "MODIFIED"},
                                 {{"model1:latest", "sha256:abc12", "1.0 KB", "24 hours ago"},
                                  {"model2:latest", "sha256:def45", "2.0 KB", "2 days ago"}});
  EXPECT_EQ(out,
            "NAME             ID              SIZE      MODIFIED     \n"
            "model1:latest    sha256:abc12    1.0 KB    24 hours ago    \n"
            "model2:latest    sha256:def45    2.0 KB    2 days ago      \n");
}

TEST(Table, EmptyListIsHeaderOnly) {
  EXPECT_EQ(render_table({"NAME", "ID", "SIZE", "MODIFIED"}, {}),
            "NAME    ID    SIZE    MODIFIED \n");
}

TEST(Table, LongCellsWrapOnWords) {
  std::string out = render_table({}, {{"", "key", "one two three four five six seven eight nine"}});
  // The cell is wrapped at 30 columns and its column is 30 wide; continuation lines show
  // short cells as two spaces (so the empty first column takes two).
  EXPECT_EQ(out, "    key    one two three four five six" + std::string(3 + 4, ' ') + "\n" + "  " +
                     "    " + "   " + "    " + "seven eight nine" + std::string(14 + 4, ' ') +
                     "\n");
}

TEST(Table, WrapWordsMinimisesRaggedness) {
  EXPECT_EQ(wrap_words("aaa bb cc ddddd", 6), (std::vector<std::string>{"aaa", "bb cc", "ddddd"}));
  EXPECT_EQ(wrap_words("averyveryverylongword x", 5),
            (std::vector<std::string>{"averyveryverylongword", "x"}));
  EXPECT_EQ(wrap_words("", 0), (std::vector<std::string>{""}));
}

TEST(ListFormat, FiltersAndFormats) {
  auto tags = nlohmann::json::parse(R"({"models":[
    {"name":"Stories:latest","model":"Stories:latest","size":1185376,
     "digest":"0123456789abcdef0123","modified_at":"2026-01-01T00:00:00Z"},
    {"name":"other:v1","model":"other:v1","size":2000000000,
     "digest":"fedcba9876543210fedc","modified_at":"2025-12-31T23:59:00+01:00"},
    {"name":"cloudy:cloud","remote_model":"x","size":300,
     "digest":"aaaaaaaaaaaaaaaaaaaa","modified_at":"2025-12-01T00:00:00Z"}]})");
  int64_t now = 1767225600LL * 1'000'000'000 + 90LL * 1'000'000'000;  // 2026-01-01T00:01:30Z
  EXPECT_EQ(format_list(tags, "", now),
            "NAME              ID              SIZE      MODIFIED           \n"
            "Stories:latest    0123456789ab    1.2 MB    About a minute ago    \n"
            "other:v1          fedcba987654    2 GB      About an hour ago     \n"
            "cloudy:cloud      aaaaaaaaaaaa    -         4 weeks ago           \n");
  EXPECT_EQ(format_list(tags, "sto", now),
            "NAME              ID              SIZE      MODIFIED           \n"
            "Stories:latest    0123456789ab    1.2 MB    About a minute ago    \n");
}

TEST(PsFormat, ProcessorAndUntil) {
  EXPECT_EQ(format_processor(100, 0), "100% CPU");
  EXPECT_EQ(format_processor(100, 100), "100% GPU");
  EXPECT_EQ(format_processor(100, 48), "52%/48% CPU/GPU");
  EXPECT_EQ(format_processor(100, 200), "Unknown");
  auto ps = nlohmann::json::parse(R"({"models":[
    {"name":"a:latest","digest":"0123456789abcdef","size":5000000,"size_vram":0,
     "context_length":4096,"expires_at":"2026-01-01T00:04:00Z"},
    {"name":"b:latest","digest":"0123456789abcdef","size":5000000,"size_vram":0,
     "context_length":2048,"expires_at":"2025-12-31T00:00:00Z"},
    {"name":"c:latest","digest":"0123456789abcdef","size":5000000,"size_vram":0,
     "context_length":2048,"expires_at":"2318-01-01T00:00:00Z"}]})");
  int64_t now = 1767225600LL * 1'000'000'000;  // 2026-01-01T00:00:00Z
  EXPECT_EQ(format_ps(ps, "", now),
            "NAME        ID              SIZE    PROCESSOR    CONTEXT    UNTIL              \n"
            "a:latest    0123456789ab    5 MB    100% CPU     4096       4 minutes from now    \n"
            "b:latest    0123456789ab    5 MB    100% CPU     2048       Stopping...           \n"
            "c:latest    0123456789ab    5 MB    100% CPU     2048       Forever               \n");
  EXPECT_EQ(format_ps(ps, "A", now), "NAME    ID    SIZE    PROCESSOR    CONTEXT    UNTIL \n");
}

}  // namespace
}  // namespace cli
