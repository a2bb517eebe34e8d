#include "cli/format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace cli {

std::string human_bytes(int64_t b) {
  constexpr double kKB = 1000, kMB = kKB * 1000, kGB = kMB * 1000, kTB = kGB * 1000;
  double value;
  const char* unit;
  if (b >= kTB) {
    value = b / kTB, unit = "TB";
  } else if (b >= kGB) {
    value = b / kGB, unit = "GB";
  } else if (b >= kMB) {
    value = b / kMB, unit = "MB";
  } else if (b >= kKB) {
    value = b / kKB, unit = "KB";
  } else {
    return std::to_string(b) + " B";
  }
  char buf[64];
  if (value >= 10 || value == std::trunc(value)) {
    std::snprintf(buf, sizeof buf, "%d %s", static_cast<int>(value), unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, unit);
  }
  return buf;
}

std::string human_number(uint64_t n) {
  char buf[64];
  auto whole_or = [&](double v, const char* frac_fmt, const char* suffix) {
    if (v == std::floor(v)) {
      std::snprintf(buf, sizeof buf, "%.0f%s", v, suffix);
    } else {
      std::snprintf(buf, sizeof buf, frac_fmt, v, suffix);
    }
    return std::string(buf);
  };
  if (n >= 1'000'000'000) return whole_or(n / 1e9, "%.1f%s", "B");
  if (n >= 1'000'000) return whole_or(n / 1e6, "%.2f%s", "M");
  if (n >= 1'000) {
    std::snprintf(buf, sizeof buf, "%.0fK", n / 1e3);
    return buf;
  }
  return std::to_string(n);
}

std::string human_duration(int64_t ns) {
  int64_t seconds = ns / 1'000'000'000;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  int64_t minutes = ns / 60'000'000'000;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  double hours_f = static_cast<double>(ns) / 3.6e12;
  auto hours = static_cast<int64_t>(std::round(hours_f));
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(static_cast<int64_t>(hours_f) / 24 / 365) + " years";
}

std::string human_time(int64_t then_ns, int64_t now_ns, bool is_zero, std::string_view zero_value) {
  if (is_zero) return std::string(zero_value);
  int64_t delta;  // time.Since saturates instead of overflowing
  if (__builtin_sub_overflow(now_ns, then_ns, &delta))
    delta = then_ns > 0 ? INT64_MIN + 1 : INT64_MAX;
  // Go: int(delta.Hours())/24/365 < -20 (truncating divisions).
  if (static_cast<int64_t>(static_cast<double>(delta) / 3.6e12) / 24 / 365 < -20) return "Forever";
  if (delta < 0) return human_duration(-delta) + " from now";
  return human_duration(delta) + " ago";
}

namespace {

// Shortest round-trip digits of |v| and the decimal exponent: v = 0.d1d2... * 10^dp.
void shortest_digits(double v, std::string& digits, int& dp) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string s(buf, res.ptr);
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  int exp = std::stoi(s.substr(e + 1));
  digits.clear();
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  dp = exp + 1;
}

}  // namespace

std::string go_format_g(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::string sign = std::signbit(v) ? "-" : "";
  if (v == 0) return sign + "0";
  std::string d;
  int dp;
  shortest_digits(v, d, dp);
  int exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    std::string out = sign + d.substr(0, 1);
    if (d.size() > 1) out += "." + d.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + eb;
  }
  return sign + go_format_f(std::fabs(v));
}

std::string go_format_f(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

std::string go_format_v(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      return v.get<std::string>();
    case nlohmann::json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return go_format_g(v.get<double>());
    case nlohmann::json::value_t::null:
      return "<nil>";
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); i++) out += (i ? " " : "") + go_format_v(v[i]);
      return out + "]";
    }
    case nlohmann::json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (auto& [k, x] : v.items()) {  // nlohmann objects iterate in sorted key order
        out += (first ? "" : " ") + k + ":" + go_format_v(x);
        first = false;
      }
      return out + "]";
    }
    default:
      return "";
  }
}

namespace {
bool is_wide(uint32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
         (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}
bool is_zero_width(uint32_t c) {
  return c < 0x20 || (c >= 0x7F && c < 0xA0) || (c >= 0x300 && c <= 0x36F) ||
         (c >= 0x200B && c <= 0x200F) || (c >= 0xFE00 && c <= 0xFE0F);
}
}  // namespace

int display_width(std::string_view s) {
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t c;
    size_t n;
    if (b < 0x80) {
      c = b, n = 1;
    } else if ((b >> 5) == 6) {
      c = b & 0x1F, n = 2;
    } else if ((b >> 4) == 14) {
      c = b & 0x0F, n = 3;
    } else if ((b >> 3) == 30) {
      c = b & 0x07, n = 4;
    } else {
      w++, i++;  // invalid byte: one replacement character
      continue;
    }
    if (i + n > s.size()) n = s.size() - i;
    for (size_t k = 1; k < n; k++) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n;
    if (is_zero_width(c)) continue;
    w += is_wide(c) ? 2 : 1;
  }
  return w;
}

}  // namespace cli
