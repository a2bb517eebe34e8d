// Go encoding/json-compatible JSON text (escaping, map key order, float formatting).
#include "store/gojson.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

namespace store {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8_seq_len(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  // Reject overlong forms, surrogates and out-of-range code points like Go's decoder.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

template <typename Json>
void encode(const Json& v, std::string& out) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out += "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += v.template get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(v.template get<int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(v.template get<uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      out += go_format_float(v.template get<double>());
      break;
    case nlohmann::json::value_t::string:
      out += go_json_string(v.template get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        encode(e, out);
      }
      out += ']';
      break;
    }
    case nlohmann::json::value_t::object: {
      // Go encodes maps with sorted keys.
      std::map<std::string, const Json*> sorted;
      for (auto it = v.begin(); it != v.end(); ++it) sorted[it.key()] = &it.value();
      out += '{';
      bool first = true;
      for (const auto& [k, e] : sorted) {
        if (!first) out += ',';
        first = false;
        out += go_json_string(k);
        out += ':';
        encode(*e, out);
      }
      out += '}';
      break;
    }
    case nlohmann::json::value_t::binary:
      out += "null";
      break;
  }
}

}  // namespace

std::string go_json_string(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '<':
        case '>':
        case '&':
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = utf8_seq_len(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    // U+2028 / U+2029 (E2 80 A8 / E2 80 A9) break JavaScript string literals; Go escapes them.
    if (n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string go_format_float(double f) {
  if (std::isnan(f) || std::isinf(f)) return "null";  // Go errors; never produced by us
  char buf[64];
  double a = std::fabs(f);
  bool exp_form = a != 0 && (a < 1e-6 || a >= 1e21);
  auto fmt = exp_form ? std::chars_format::scientific : std::chars_format::fixed;
  auto res = std::to_chars(buf, buf + sizeof(buf), f, fmt);
  std::string s(buf, res.ptr);
  if (exp_form) {
    // Go writes e-7 rather than e-07.
    size_t e = s.find('e');
    if (e != std::string::npos && s.size() - e == 4 && s[e + 2] == '0') s.erase(e + 2, 1);
  }
  return s;
}

double float32_as_shortest_double(float f) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f);
  *res.ptr = '\0';
  return std::strtod(buf, nullptr);
}

std::string go_json_encode(const nlohmann::json& v) {
  std::string out;
  encode(v, out);
  return out;
}

std::string go_json_encode(const nlohmann::ordered_json& v) {
  std::string out;
  encode(v, out);
  return out;
}

}  // namespace store
