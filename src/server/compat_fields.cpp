#include "server/compat_fields.h"

#include "api/limits.h"
#include "util/error.h"
#include "util/log.h"

namespace server::compat {
namespace {

const char* kind_name(const ojson& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

const ojson* field(const ojson& obj, const char* key, bool (ojson::*is)() const noexcept,
                   const char* want) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!((*it).*is)())
    throw util::bad_request(std::string(key) + ": expected " + want + ", got " + kind_name(*it));
  return &*it;
}

}  // namespace

const ojson* string_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_string, "a string");
}
const ojson* number_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_number, "a number");
}
const ojson* integer_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_number_integer, "an integer");
}
const ojson* bool_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_boolean, "a boolean");
}
const ojson* array_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_array, "an array");
}
const ojson* object_field(const ojson& o, const char* k) {
  return field(o, k, &ojson::is_object, "an object");
}
std::string text_of(const ojson& o, const char* k) {
  const ojson* v = string_field(o, k);
  return v ? v->get<std::string>() : "";
}

ojson function_tools(const ojson& tools, const char* type, bool type_optional,
                     const char* schema_key, const char* route) {
  ojson out = ojson::array();
  api::check_count("tools", tools.size(), api::kMaxTools);
  for (const auto& t : tools) {
    if (!t.is_object()) throw util::bad_request("tools: each tool must be an object");
    const std::string kind = text_of(t, "type");
    const std::string name = text_of(t, "name");
    if (kind != type && !(type_optional && kind.empty())) {
      LOG_WARN("{}: tool '{}' of type '{}' is not supported here; left out", route, name, kind);
      continue;
    }
    if (name.empty()) throw util::bad_request("tools: each tool needs a name");
    ojson fn = ojson::object();
    fn["name"] = name;
    if (const ojson* d = string_field(t, "description")) fn["description"] = *d;
    const ojson* schema = object_field(t, schema_key);
    fn["parameters"] = schema ? *schema : ojson{{"type", "object"}};
    out.push_back(ojson{{"type", "function"}, {"function", fn}});
  }
  return out;
}

}  // namespace server::compat
