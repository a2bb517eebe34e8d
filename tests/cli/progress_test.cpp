#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace cli {
namespace {

std::string read_all(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(Progress, PlainModePrintsFinishedLinesInOrder) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(f, false);
    Spinner* a = p.add_spinner("gathering model components");
    Spinner* b = p.add_spinner("copying file sha256:ab 0%");
    p.set_message(b, "copying file sha256:ab 100%");
    p.stop_spinner(b);  // b is done but a is not: nothing printed yet
    EXPECT_EQ(read_all(f), "");
    std::fseek(f, 0, SEEK_END);
    p.stop_spinner(a);
    p.add_spinner("success");
    p.stop();
  }
  EXPECT_EQ(read_all(f), "gathering model components\ncopying file sha256:ab 100%\nsuccess\n");
  std::fclose(f);
}

TEST(Progress, TtyModeRedrawsInPlace) {
  FILE* f = std::tmpfile();
  {
    Progress p(f, true);
    p.add_spinner("writing manifest");
    p.stop();
  }
  std::string out = read_all(f);
  EXPECT_EQ(out.rfind("\033[?25l", 0), 0u);                           // cursor hidden first
  EXPECT_NE(out.find("writing manifest \033[K"), std::string::npos);  // final, no frame
  EXPECT_EQ(out.substr(out.size() - 7), "\n\033[?25h");
  std::fclose(f);
}

TEST(Bar, RenderLayout) {
  auto t0 = Clock::now();
  Bar b("pulling 0123456789ab", 2000000, 500000, t0);
  std::string s = b.render(t0, 80);
  // 25% of a bar whose width is 80 - prefix - suffix - 5.
  std::string pre = "pulling 0123456789ab  25%";
  std::string suf = "500 KB/  2 MB" + std::string(18, ' ');
  int f = 80 - static_cast<int>(pre.size() + suf.size()) - 5;
  int n = f * 25 / 100;
  std::string bar;
  for (int i = 0; i < n; i++) bar += "█";
  EXPECT_EQ(s, pre + " ▕" + bar + std::string(f - n, ' ') + "▏ " + suf);

  Bar done("x", 1000, 1000, t0);
  EXPECT_TRUE(done.done());
  EXPECT_NE(done.render(t0, 80).find("100% ▕"), std::string::npos);
  EXPECT_NE(done.render(t0, 80).find("▏   1 KB"), std::string::npos);
}

TEST(Bar, Eta) {
  EXPECT_EQ(format_eta(0), "0s");
  EXPECT_EQ(format_eta(59), "59s");
  EXPECT_EQ(format_eta(90), "1m30s");
  EXPECT_EQ(format_eta(3600 * 2 + 300), "2h5m");
  EXPECT_EQ(format_eta(100 * 3600), "99h+");
}

}  // namespace
}  // namespace cli
