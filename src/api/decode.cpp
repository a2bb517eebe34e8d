#include "api/decode.h"

#include <cmath>

#include "api/limits.h"
#include "util/error.h"
#include "util/json.h"

namespace api {
namespace {

bool all_space(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  return true;
}

std::string quote_char(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  // Go quotes the byte as the rune of the same value: 0xff -> 'ÿ'.
  if (c >= 0xa0) {
    std::string r = "'";
    r += static_cast<char>(0xc0 | (c >> 6));
    r += static_cast<char>(0x80 | (c & 0x3f));
    return r + "'";
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "'\\x%02x'", c);
  return buf;
}

}  // namespace

json parse_body(std::string_view body) {
  if (all_space(body)) throw util::bad_request("missing request body");
  util::check_json_depth(body);
  // A tree costs ~50-100 bytes per value whatever the text's size: bound it before building.
  if (util::json_value_count(body) > kMaxBodyValues)
    throw util::Error(
        "request body has too many JSON values (at most " + std::to_string(kMaxBodyValues) + ")",
        util::ErrorKind::kTooLarge);
  try {
    return json::parse(body);
  } catch (const json::out_of_range& e) {
    // A number beyond float64 ("1e99999"): Go's decoder fails the same body.
    std::string what = e.what();
    size_t a = what.find('\''), b = what.rfind('\'');
    std::string number = a != std::string::npos && b > a ? what.substr(a + 1, b - a - 1) : "";
    throw util::bad_request("json: cannot unmarshal number " + number +
                            " into Go value of type float64");
  } catch (const json::parse_error& e) {
    // byte is 1-based position of the offending character; past the end means truncation.
    size_t pos = e.byte == 0 ? 0 : e.byte - 1;
    if (pos >= body.size()) throw util::bad_request("unexpected EOF");
    std::string what = e.what();
    const char* context = "looking for beginning of value";
    if (what.find("object key") != std::string::npos)
      context = "looking for beginning of object key string";
    else if (what.find("object separator") != std::string::npos)
      context = "after object key";
    else if (what.find("end of input") != std::string::npos)
      context = "after top-level value";
    else if (what.find("string") != std::string::npos)
      context = "in string literal";
    throw util::bad_request("invalid character " + quote_char(body[pos]) + " " + context);
  }
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (!what.empty() && what[0] == '[') {
    size_t close = what.find("] ");
    if (close != std::string::npos) what.erase(0, close + 2);
  }
  return "invalid request: " + what;
}

const char* go_json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "null";
  }
}

Fields::Fields(const json& j, std::string_view go_type) : j_(j), type_(go_type) {
  if (!j.is_object()) {
    throw util::bad_request(std::string("json: cannot unmarshal ") + go_json_kind(j) +
                            " into Go value of type api." + type_);
  }
}

const json* Fields::raw(const char* key) const {
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

bool Fields::has(const char* key) const {
  const json* v = raw(key);
  return v && !v->is_null();
}

void Fields::type_error(const char* key, const json& v, std::string_view go_kind) const {
  std::string kind = go_json_kind(v);
  if (v.is_number() && go_kind.find("int") != std::string_view::npos) kind += " " + v.dump();
  throw util::bad_request("json: cannot unmarshal " + kind + " into Go struct field " + type_ +
                          "." + key + " of type " + std::string(go_kind));
}

void Fields::get(const char* key, std::string& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_string()) type_error(key, *v, "string");
  out = v->get<std::string>();
}

void Fields::get(const char* key, bool& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_boolean()) type_error(key, *v, "bool");
  out = v->get<bool>();
}

void Fields::get(const char* key, std::optional<bool>& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_boolean()) type_error(key, *v, "bool");
  out = v->get<bool>();
}

void Fields::get(const char* key, int64_t& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
    return;
  }
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.2e18) {
      out = static_cast<int64_t>(d);
      return;
    }
  }
  type_error(key, *v, "int64");
}

void Fields::get(const char* key, int& out) const {
  int64_t v = out;
  get(key, v);
  out = static_cast<int>(v);
}

void Fields::get(const char* key, double& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_number()) type_error(key, *v, "float64");
  out = v->get<double>();
}

void Fields::get(const char* key, std::vector<std::string>& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_array()) type_error(key, *v, "[]string");
  std::vector<std::string> r;
  for (const auto& e : *v) {
    if (!e.is_string()) type_error(key, e, "string");
    r.push_back(e.get<std::string>());
  }
  out = std::move(r);
}

void Fields::get(const char* key, std::map<std::string, std::string>& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_object()) type_error(key, *v, "map[string]string");
  std::map<std::string, std::string> r;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) type_error(key, it.value(), "string");
    r[it.key()] = it.value().get<std::string>();
  }
  out = std::move(r);
}

void Fields::get_json(const char* key, json& out, bool object_only) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (object_only && !v->is_object()) type_error(key, *v, "map[string]interface {}");
  out = *v;
}

void Fields::get_string_or_list(const char* key, std::vector<std::string>& out) const {
  const json* v = raw(key);
  if (!v || v->is_null()) return;
  if (v->is_string()) {
    out = {v->get<std::string>()};
    return;
  }
  if (!v->is_array())
    throw util::bad_request("json: cannot unmarshal " + std::string(go_json_kind(*v)) +
                            " into Go struct field " + type_ + "." + key +
                            " of type string or []string");
  get(key, out);
}

}  // namespace api
