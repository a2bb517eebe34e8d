#include "server/compat_fields.h"

#include "util/error.h"

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

}  // namespace server::compat
