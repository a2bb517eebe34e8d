#include "util/duration.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "util/error.h"

namespace util {
namespace {

int64_t unit_nanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return kNanosPerSecond;
  if (u == "m") return 60 * kNanosPerSecond;
  if (u == "h") return 3600 * kNanosPerSecond;
  return 0;
}

}  // namespace

int64_t parse_go_duration(std::string_view orig) {
  auto invalid = [&] {
    return bad_request("time: invalid duration \"" + std::string(orig) + "\"");
  };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) throw invalid();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    std::string num;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
      num += s[i++];
    if (num.empty() || num == ".") throw invalid();
    size_t j = i;
    while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') j++;
    std::string_view unit = s.substr(i, j - i);
    if (unit.empty())
      throw bad_request("time: missing unit in duration \"" + std::string(orig) + "\"");
    int64_t mult = unit_nanos(unit);
    if (mult == 0)
      throw bad_request("time: unknown unit \"" + std::string(unit) + "\" in duration \"" +
                        std::string(orig) + "\"");
    total += std::stold(num) * mult;
    s.remove_prefix(j);
  }
  if (total > static_cast<long double>(INT64_MAX)) throw invalid();
  int64_t v = static_cast<int64_t>(total);
  return neg ? -v : v;
}

namespace {
// Formats v / 10^prec with trailing zeros of the fraction removed (Go's fmtFrac + fmtInt).
std::string frac(uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; i++) {
    int d = static_cast<int>(v % 10);
    print = print || d != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + d));
    v /= 10;
  }
  std::string out = std::to_string(v);
  if (!digits.empty()) out += "." + digits;
  return out;
}
}  // namespace

std::string format_go_duration(int64_t ns) {
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::string out;
  if (u < static_cast<uint64_t>(kNanosPerSecond)) {
    if (u < 1000)
      out = std::to_string(u) + "ns";
    else if (u < 1000000)
      out = frac(u, 3) + "\xc2\xb5s";
    else
      out = frac(u, 6) + "ms";
  } else {
    std::string secs = frac(u % (60ull * kNanosPerSecond), 9) + "s";
    uint64_t mins = u / (60ull * kNanosPerSecond);
    if (mins == 0) {
      out = secs;
    } else if (mins < 60) {
      out = std::to_string(mins) + "m" + secs;
    } else {
      out = std::to_string(mins / 60) + "h" + std::to_string(mins % 60) + "m" + secs;
    }
  }
  return neg ? "-" + out : out;
}

std::optional<int64_t> parse_keep_alive_env(std::string_view s) {
  if (s.empty()) return std::nullopt;
  try {
    int64_t v = parse_go_duration(s);
    return v < 0 ? kForever : v;
  } catch (const Error&) {
  }
  try {
    size_t pos = 0;
    long long secs = std::stoll(std::string(s), &pos);
    if (pos != s.size()) return std::nullopt;
    if (secs < 0) return kForever;
    return static_cast<int64_t>(secs) * kNanosPerSecond;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace util
