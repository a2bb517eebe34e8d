#include "prompt/template_funcs.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "prompt/template.h"

namespace prompt {
namespace {

[[noreturn]] void fail(const std::string& m) { throw TemplateError("template: " + m); }

// A call's arguments by reference: template data can be large (a whole conversation), and a
// copy per call made long chats quadratic.
class Args {
 public:
  explicit Args(const std::vector<const Json*>& v) : v_(v) {}
  const Json& operator[](size_t i) const { return *v_[i]; }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }

 private:
  const std::vector<const Json*>& v_;
};

std::string format_float(double d) {
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  if (std::isnan(d)) return "NaN";
  char buf[64];
  int exp = d == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::fabs(d))));
  std::to_chars_result r;
  if (exp < -4 || exp >= 21)
    r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  else
    r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  // Go writes exponents with at least two digits: 1e+21, 1e-05.
  if (auto e = s.find('e'); e != std::string::npos && s.size() - e == 3) s.insert(e + 2, "0");
  return s;
}

double num(const Json& v, const char* fn) {
  if (v.is_number()) return v.get<double>();
  fail(std::string(fn) + ": incompatible types for comparison");
}

int compare(const Json& a, const Json& b, const char* fn) {
  if (a.is_string() && b.is_string()) {
    auto& x = a.get_ref<const std::string&>();
    auto& y = b.get_ref<const std::string&>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_number_integer() && b.is_number_integer()) {
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  double x = num(a, fn), y = num(b, fn);
  return x < y ? -1 : x > y ? 1 : 0;
}

bool equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return compare(a, b, "eq") == 0;
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.type() != b.type()) return false;
  return a == b;
}

size_t visible_size(const Json& v) {
  size_t n = v.size();
  if (v.is_object() && v.contains(kJsonKey)) n--;
  return n;
}

// Whether a printf spec asks for a width or precision above Go's 1e6 limit.
bool spec_too_wide(const std::string& spec) {
  long n = 0;
  for (char c : spec) {
    if (c >= '0' && c <= '9') {
      n = n * 10 + (c - '0');
      if (n > 1000000) return true;
    } else {
      n = 0;
    }
  }
  return false;
}

// snprintf into a string of the needed size (widths are bounded by spec_too_wide).
template <class T>
std::string format_c(const std::string& fmt, T value) {
  const int n = std::snprintf(nullptr, 0, fmt.c_str(), value);
  if (n <= 0) return "";
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt.c_str(), value);
  out.resize(static_cast<size_t>(n));
  return out;
}

// A JSON number as long long: floats truncated, out-of-range values saturated.
long long saturating_ll(const Json& a) {
  if (a.is_number_unsigned()) {
    const uint64_t u = a.get<uint64_t>();
    return u > static_cast<uint64_t>(LLONG_MAX) ? LLONG_MAX : static_cast<long long>(u);
  }
  if (a.is_number_integer()) return a.get<int64_t>();
  const double d = a.get<double>();
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return LLONG_MAX;
  if (d <= -9.2e18) return LLONG_MIN;
  return static_cast<long long>(d);
}

// Results are bounded like a template's output: many copies of a large value in one call
// must fail before they are made.
void check_size(const std::string& s, const char* fn) {
  if (s.size() > kMaxTemplateOutput)
    fail(std::string(fn) + ": result exceeds " + std::to_string(kMaxTemplateOutput >> 20) + " MiB");
}

std::string printf_impl(const Args& args) {
  if (args.empty() || !args[0].is_string()) fail("printf: format must be a string");
  const std::string& f = args[0].get_ref<const std::string&>();
  std::string out;
  size_t ai = 1;
  for (size_t i = 0; i < f.size(); i++) {
    check_size(out, "printf");
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    size_t j = i + 1;
    std::string spec = "%";
    while (j < f.size() && std::strchr("+-# 0123456789.", f[j])) spec += f[j++];
    if (spec_too_wide(spec)) {
      // Go's fmt refuses widths and precisions above 1e6 the same way.
      out += "%!(BADWIDTH)";
      i = j < f.size() ? j : f.size();
      continue;
    }
    if (j >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[j];
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (ai >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Json& a = args[ai++];
    switch (verb) {
      case 'd':
        if (!a.is_number()) fail("printf: %d of non-number");
        out += format_c(spec + "lld", saturating_ll(a));
        break;
      case 'f':
      case 'e':
      case 'g':
        out += format_c(spec + verb, num(a, "printf"));
        break;
      case 'x':
      case 'X':
        if (a.is_string()) {
          for (unsigned char c : a.get_ref<const std::string&>())
            out += format_c(verb == 'x' ? "%02x" : "%02X", static_cast<unsigned>(c));
        } else {
          if (!a.is_number()) fail(std::string("printf: %") + verb + " of non-number");
          out += format_c(spec + "ll" + verb, saturating_ll(a));
        }
        break;
      case 'q':
        out += go_json(a.is_string() ? a : Json(print_value(a)));
        break;
      case 't':
        out += a.is_boolean() ? (a.get<bool>() ? "true" : "false") : print_value(a);
        break;
      default: {  // %s, %v and anything else print the value
        std::string s = print_value(a);
        if (spec.size() > 1) s = format_c(spec + "s", s.c_str());
        out += s;
      }
    }
  }
  return out;
}

std::string escape_html(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '\'':
        o += "&#39;";
        break;
      case '"':
        o += "&#34;";
        break;
      case '\0':
        o += "\xEF\xBF\xBD";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string escape_js(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '\\':
        o += "\\\\";
        break;
      case '\'':
        o += "\\'";
        break;
      case '"':
        o += "\\\"";
        break;
      case '<':
        o += "\\u003C";
        break;
      case '>':
        o += "\\u003E";
        break;
      case '&':
        o += "\\u0026";
        break;
      case '=':
        o += "\\u003D";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\r':
        o += "\\r";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string url_query(const std::string& s) {
  std::string o;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      o += static_cast<char>(c);
    else if (c == ' ')
      o += '+';
    else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      o += buf;
    }
  }
  return o;
}

std::string date_string(int days_ago) {
  std::time_t t = std::time(nullptr) - static_cast<std::time_t>(days_ago) * 86400;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string ts_type_one(const std::string& t) {
  if (t == "string") return "string";
  if (t == "number" || t == "integer") return "number";
  if (t == "boolean") return "boolean";
  if (t == "array") return "any[]";
  if (t == "object") return "Record<string, any>";
  if (t == "null") return "null";
  return "any";
}

std::string to_typescript_type(const Json& prop) {
  const Json* type = nullptr;
  if (prop.is_object()) {
    // anyOf alternatives first, joined like a type list (Ollama's ToTypeScriptType). Only the
    // Go-struct view has AnyOf, and it is built to a bounded depth (chat.cpp).
    auto any_of = prop.find("AnyOf");
    if (any_of != prop.end() && any_of->is_array() && !any_of->empty()) {
      std::string out;
      for (const auto& alt : *any_of) out += (out.empty() ? "" : " | ") + to_typescript_type(alt);
      return out;
    }
    for (const char* k : {"Type", "type"})
      if (prop.contains(k)) type = &prop[k];
  } else {
    type = &prop;
  }
  if (!type || type->is_null()) return "any";
  if (type->is_string()) return ts_type_one(type->get<std::string>());
  if (type->is_array()) {
    std::string out;
    for (auto& t : *type) {
      if (!t.is_string()) continue;
      if (!out.empty()) out += " | ";
      out += ts_type_one(t.get<std::string>());
    }
    return out.empty() ? "any" : out;
  }
  return "any";
}

}  // namespace

bool is_function(const std::string& n) {
  static const char* kNames[] = {"and",
                                 "or",
                                 "not",
                                 "len",
                                 "index",
                                 "slice",
                                 "eq",
                                 "ne",
                                 "lt",
                                 "le",
                                 "gt",
                                 "ge",
                                 "print",
                                 "printf",
                                 "println",
                                 "html",
                                 "js",
                                 "urlquery",
                                 "call",
                                 "json",
                                 "currentDate",
                                 "yesterdayDate",
                                 "toTypeScriptType"};
  for (auto* k : kNames)
    if (n == k) return true;
  return false;
}

bool truthy(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return v.get<bool>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return v.get<int64_t>() != 0;
    case Json::value_t::number_float:
      return v.get<double>() != 0;
    case Json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return visible_size(v) > 0;
    default:
      return true;
  }
}

std::string go_json(const Json& v) {
  std::string s;
  if (v.is_object() && v.contains(kJsonKey))
    s = v[kJsonKey].get<std::string>();
  else if (v.is_array() && !v.empty() && v[0].is_object() && v[0].contains(kJsonKey)) {
    s = "[";
    for (size_t i = 0; i < v.size(); i++) s += (i ? "," : "") + go_json(v[i]);
    return s + "]";
  } else
    s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '<')
      o += "\\u003c";
    else if (c == '>')
      o += "\\u003e";
    else if (c == '&')
      o += "\\u0026";
    else
      o += c;
  }
  return o;
}

std::string print_value(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "<no value>";
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float:
      return format_float(v.get<double>());
    case Json::value_t::object:
      return go_json(v);
    case Json::value_t::array: {
      for (auto& e : v)
        if (e.is_object() || e.is_array()) return go_json(v);
      std::string s = "[";
      for (size_t i = 0; i < v.size(); i++) s += (i ? " " : "") + print_value(v[i]);
      return s + "]";
    }
    default:
      return v.dump();
  }
}

Json call_function(const std::string& fn, const std::vector<const Json*>& args) {
  const Args a(args);
  auto need = [&](size_t n) {
    if (a.size() != n)
      fail(fn + ": wrong number of args: want " + std::to_string(n) + " got " +
           std::to_string(a.size()));
  };
  if (fn == "not") {
    need(1);
    return !truthy(a[0]);
  }
  if (fn == "len") {
    need(1);
    if (a[0].is_string()) return static_cast<int64_t>(a[0].get_ref<const std::string&>().size());
    if (a[0].is_array() || a[0].is_object()) return static_cast<int64_t>(visible_size(a[0]));
    if (a[0].is_null()) fail("len of nil pointer");
    fail("len of type " + std::string(a[0].type_name()));
  }
  if (fn == "index") {
    if (a.empty()) fail("index: wrong number of args");
    const Json* cur = &a[0];
    for (size_t i = 1; i < a.size(); i++) {
      if (cur->is_array()) {
        if (!a[i].is_number_integer()) fail("index: cannot index slice with non-integer");
        int64_t k = a[i].get<int64_t>();
        if (k < 0 || k >= static_cast<int64_t>(cur->size()))
          fail("index out of range: " + std::to_string(k));
        cur = &(*cur)[static_cast<size_t>(k)];
      } else if (cur->is_object()) {
        auto it = cur->find(a[i].is_string() ? a[i].get<std::string>() : a[i].dump());
        if (it == cur->end()) return nullptr;
        cur = &*it;
      } else if (cur->is_null()) {
        fail("index of untyped nil");
      } else {
        fail("can't index item of type " + std::string(cur->type_name()));
      }
    }
    return *cur;
  }
  if (fn == "slice") {
    if (a.empty() || a.size() > 3) fail("slice: wrong number of args");
    const Json& x = a[0];
    int64_t len = x.is_string()  ? static_cast<int64_t>(x.get_ref<const std::string&>().size())
                  : x.is_array() ? static_cast<int64_t>(x.size())
                                 : -1;
    if (len < 0) fail("can't slice item of type " + std::string(x.type_name()));
    int64_t lo = a.size() > 1 ? a[1].get<int64_t>() : 0;
    int64_t hi = a.size() > 2 ? a[2].get<int64_t>() : len;
    if (lo < 0 || hi < lo || hi > len) fail("slice: index out of range");
    if (x.is_string()) return x.get_ref<const std::string&>().substr(lo, hi - lo);
    return Json(std::vector<Json>(x.begin() + lo, x.begin() + hi));
  }
  if (fn == "eq") {
    if (a.size() < 2) fail("missing argument for comparison");
    for (size_t i = 1; i < a.size(); i++)
      if (equal(a[0], a[i])) return true;
    return false;
  }
  if (fn == "ne") {
    need(2);
    return !equal(a[0], a[1]);
  }
  if (fn == "lt") {
    need(2);
    return compare(a[0], a[1], "lt") < 0;
  }
  if (fn == "le") {
    need(2);
    return compare(a[0], a[1], "le") <= 0;
  }
  if (fn == "gt") {
    need(2);
    return compare(a[0], a[1], "gt") > 0;
  }
  if (fn == "ge") {
    need(2);
    return compare(a[0], a[1], "ge") >= 0;
  }
  if (fn == "print" || fn == "println") {
    std::string s;
    for (size_t i = 0; i < a.size(); i++) {
      bool space = fn == "println" || (i > 0 && !a[i].is_string() && !a[i - 1].is_string());
      if (i > 0 && space) s += ' ';
      s += print_value(a[i]);
      check_size(s, "print");
    }
    if (fn == "println") s += '\n';
    return s;
  }
  if (fn == "printf") return printf_impl(a);
  if (fn == "html" || fn == "js" || fn == "urlquery") {
    std::string s;
    for (size_t i = 0; i < a.size(); i++) {
      s += print_value(a[i]);
      check_size(s, fn.c_str());
    }
    return fn == "html" ? escape_html(s) : fn == "js" ? escape_js(s) : url_query(s);
  }
  if (fn == "json") {
    need(1);
    return go_json(a[0]);
  }
  if (fn == "currentDate") return date_string(0);
  if (fn == "yesterdayDate") return date_string(1);
  if (fn == "toTypeScriptType") {
    need(1);
    return to_typescript_type(a[0]);
  }
  if (fn == "call") fail("call: functions are not supported in this data model");
  fail("function \"" + fn + "\" not defined");
}

}  // namespace prompt
