#include "api/time.h"

#include <chrono>
#include <ctime>

#include "util/error.h"

namespace api {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's civil algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Timestamp Timestamp::from_unix_nanos_utc(int64_t ns) {
  Timestamp t;
  t.unix_seconds = floor_div(ns, 1'000'000'000);
  t.nanos = static_cast<int32_t>(ns - t.unix_seconds * 1'000'000'000);
  t.utc_offset_s = 0;
  return t;
}

Timestamp Timestamp::from_unix_nanos_local(int64_t ns) {
  Timestamp t = from_unix_nanos_utc(ns);
  time_t secs = static_cast<time_t>(t.unix_seconds);
  struct tm tm_local {};
  if (localtime_r(&secs, &tm_local)) t.utc_offset_s = static_cast<int32_t>(tm_local.tm_gmtoff);
  return t;
}

static int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Timestamp Timestamp::now_utc() { return from_unix_nanos_utc(now_ns()); }
Timestamp Timestamp::now_local() { return from_unix_nanos_local(now_ns()); }

std::string format_rfc3339_nano(const Timestamp& t) {
  int64_t local = t.unix_seconds + t.utc_offset_s;
  int64_t days = floor_div(local, 86400);
  int64_t sod = local - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(y), m, d, static_cast<int>(sod / 3600),
                        static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  std::string out(buf, n);
  if (t.nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09d", t.nanos);
    std::string frac(buf);
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  if (t.utc_offset_s == 0) {
    out += 'Z';
  } else {
    int off = t.utc_offset_s;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, off / 3600, off / 60 % 60);
    out += buf;
  }
  return out;
}

Timestamp parse_rfc3339(std::string_view s) {
  auto fail = [&]() -> util::Error {
    return util::bad_request("parsing time \"" + std::string(s) + "\" as RFC3339: invalid format");
  };
  auto digits = [&](size_t pos, size_t n) -> int {
    if (pos + n > s.size()) throw fail();
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') throw fail();
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto expect = [&](size_t pos, char c) {
    if (pos >= s.size() || (s[pos] != c && !(c == 'T' && s[pos] == 't'))) throw fail();
  };
  int year = digits(0, 4);
  expect(4, '-');
  int month = digits(5, 2);
  expect(7, '-');
  int day = digits(8, 2);
  expect(10, 'T');
  int hour = digits(11, 2);
  expect(13, ':');
  int minute = digits(14, 2);
  expect(16, ':');
  int second = digits(17, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    throw fail();
  size_t pos = 19;
  int32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += static_cast<int32_t>((s[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) throw fail();
  }
  int32_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    int oh = digits(pos + 1, 2);
    expect(pos + 3, ':');
    int om = digits(pos + 4, 2);
    offset = sign * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    throw fail();
  }
  if (pos != s.size()) throw fail();
  Timestamp t;
  t.unix_seconds =
      days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  t.nanos = nanos;
  t.utc_offset_s = offset;
  return t;
}

}  // namespace api
