// Metadata values and the File's typed lookups.
#include <algorithm>
#include <cmath>

#include "engine/gguf/gguf.h"

namespace gguf {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
      return "uint8";
    case ValueType::kInt8:
      return "int8";
    case ValueType::kUint16:
      return "uint16";
    case ValueType::kInt16:
      return "int16";
    case ValueType::kUint32:
      return "uint32";
    case ValueType::kInt32:
      return "int32";
    case ValueType::kFloat32:
      return "float32";
    case ValueType::kBool:
      return "bool";
    case ValueType::kString:
      return "string";
    case ValueType::kArray:
      return "array";
    case ValueType::kUint64:
      return "uint64";
    case ValueType::kInt64:
      return "int64";
    case ValueType::kFloat64:
      return "float64";
  }
  return "unknown";
}

namespace {

bool is_signed(ValueType t) {
  return t == ValueType::kInt8 || t == ValueType::kInt16 || t == ValueType::kInt32 ||
         t == ValueType::kInt64;
}
bool is_float(ValueType t) { return t == ValueType::kFloat32 || t == ValueType::kFloat64; }

std::string describe(const Value& v) {
  if (v.type == ValueType::kArray) return std::string("array of ") + value_type_name(v.array_type);
  return value_type_name(v.type);
}

}  // namespace

bool Value::is_integer() const {
  return is_signed(type) || type == ValueType::kUint8 || type == ValueType::kUint16 ||
         type == ValueType::kUint32 || type == ValueType::kUint64;
}

bool Value::is_number() const { return is_integer() || is_float(type); }

int64_t Value::as_int() const {
  if (is_signed(type)) return i;
  if (is_integer() || type == ValueType::kBool) {
    if (u > uint64_t(INT64_MAX)) throw util::Error("value " + std::to_string(u) + " is too large");
    return int64_t(u);
  }
  if (is_float(type)) {
    // Whole numbers only: silently truncating 0.5 to 0 would hide a wrong key type.
    if (std::trunc(f) == f && std::fabs(f) < 9.2e18) return int64_t(f);
    throw util::Error("value " + std::to_string(f) + " is not a whole number");
  }
  throw util::Error(std::string("expected a number, got ") + describe(*this));
}

double Value::as_double() const {
  if (is_float(type)) return f;
  if (is_signed(type)) return double(i);
  if (is_integer() || type == ValueType::kBool) return double(u);
  throw util::Error(std::string("expected a number, got ") + describe(*this));
}

bool Value::as_bool() const {
  if (type == ValueType::kBool || (is_integer() && !is_signed(type))) return u != 0;
  if (is_signed(type)) return i != 0;
  throw util::Error(std::string("expected a bool, got ") + describe(*this));
}

const std::string& Value::as_string() const {
  if (type != ValueType::kString) {
    throw util::Error(std::string("expected a string, got ") + describe(*this));
  }
  return s;
}

namespace {
Value unsigned_value(ValueType t, uint64_t u) {
  Value v;
  v.type = t;
  v.u = u;
  return v;
}
Value signed_value(ValueType t, int64_t i) {
  Value v;
  v.type = t;
  v.i = i;
  return v;
}
Value float_value(ValueType t, double f) {
  Value v;
  v.type = t;
  v.f = f;
  return v;
}
}  // namespace

Value Value::of_u8(uint8_t v) { return unsigned_value(ValueType::kUint8, v); }
Value Value::of_i8(int8_t v) { return signed_value(ValueType::kInt8, v); }
Value Value::of_u16(uint16_t v) { return unsigned_value(ValueType::kUint16, v); }
Value Value::of_i16(int16_t v) { return signed_value(ValueType::kInt16, v); }
Value Value::of_u32(uint32_t v) { return unsigned_value(ValueType::kUint32, v); }
Value Value::of_i32(int32_t v) { return signed_value(ValueType::kInt32, v); }
Value Value::of_u64(uint64_t v) { return unsigned_value(ValueType::kUint64, v); }
Value Value::of_i64(int64_t v) { return signed_value(ValueType::kInt64, v); }
Value Value::of_f32(float v) { return float_value(ValueType::kFloat32, v); }
Value Value::of_f64(double v) { return float_value(ValueType::kFloat64, v); }
Value Value::of_bool(bool v) { return unsigned_value(ValueType::kBool, v ? 1 : 0); }

Value Value::of_string(std::string s) {
  Value v;
  v.type = ValueType::kString;
  v.s = std::move(s);
  return v;
}

Value Value::of_array(ValueType element_type, std::vector<Value> elements) {
  Value v;
  v.type = ValueType::kArray;
  v.array_type = element_type;
  v.array = std::move(elements);
  return v;
}

Value Value::of_strings(const std::vector<std::string>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (const std::string& s : v) e.push_back(of_string(s));
  return of_array(ValueType::kString, std::move(e));
}

Value Value::of_i32s(const std::vector<int32_t>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (int32_t x : v) e.push_back(of_i32(x));
  return of_array(ValueType::kInt32, std::move(e));
}

Value Value::of_f32s(const std::vector<float>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (float x : v) e.push_back(of_f32(x));
  return of_array(ValueType::kFloat32, std::move(e));
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  if (is_float(type)) return f == o.f || (std::isnan(f) && std::isnan(o.f));
  if (is_signed(type)) return i == o.i;
  if (type == ValueType::kString) return s == o.s;
  if (type == ValueType::kArray) return array_type == o.array_type && array == o.array;
  return u == o.u;
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // the reader rejected overflowing shapes
  return n;
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

size_t File::release_arrays(std::string_view prefix) {
  const size_t before = kv_.size();
  std::erase_if(kv_, [&](const std::pair<std::string, Value>& e) {
    return e.second.type == ValueType::kArray && std::string_view(e.first).starts_with(prefix);
  });
  if (kv_.size() == before) return 0;
  kv_.shrink_to_fit();
  kv_index_.clear();
  for (size_t i = 0; i < kv_.size(); i++) kv_index_.emplace(kv_[i].first, i);
  return before - kv_.size();
}

const TensorInfo* File::tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const Value& v,
                             const char* expected) {
  throw FormatError(path + ": metadata '" + std::string(key) + "' is " + describe(v) +
                    ", expected " + expected);
}

}  // namespace

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::kString) wrong_type(path_, key, *v, "a string");
  return v->s;
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer() && v->type != ValueType::kBool) wrong_type(path_, key, *v, "an integer");
  if (!is_signed(v->type) && v->u > uint64_t(INT64_MAX)) {
    throw FormatError(path_ + ": metadata '" + std::string(key) + "' value " +
                      std::to_string(v->u) + " is out of range");
  }
  return v->as_int();
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(path_, key, *v, "a number");
  return v->as_double();
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::kBool && !v->is_integer()) wrong_type(path_, key, *v, "a bool");
  return v->as_bool();
}

std::string File::get_string(std::string_view key, std::string def) const {
  auto v = get_string(key);
  return v ? *v : std::move(def);
}

int64_t File::get_int(std::string_view key, int64_t def) const {
  auto v = get_int(key);
  return v ? *v : def;
}

double File::get_float(std::string_view key, double def) const {
  auto v = get_float(key);
  return v ? *v : def;
}

std::vector<std::string> File::get_string_array(std::string_view key) const {
  std::vector<std::string> out;
  const Value* v = find(key);
  if (!v) return out;
  if (v->type != ValueType::kArray || v->array_type != ValueType::kString) {
    wrong_type(path_, key, *v, "an array of strings");
  }
  out.reserve(v->array.size());
  for (const Value& e : v->array) out.push_back(e.s);
  return out;
}

std::vector<float> File::get_float_array(std::string_view key) const {
  std::vector<float> out;
  const Value* v = find(key);
  if (!v) return out;
  Value probe;
  probe.type = v->array_type;
  if (v->type != ValueType::kArray || !probe.is_number()) {
    wrong_type(path_, key, *v, "an array of numbers");
  }
  out.reserve(v->array.size());
  for (const Value& e : v->array) out.push_back(float(e.as_double()));
  return out;
}

std::vector<int32_t> File::get_int_array(std::string_view key) const {
  std::vector<int32_t> out;
  const Value* v = find(key);
  if (!v) return out;
  Value probe;
  probe.type = v->array_type;
  if (v->type != ValueType::kArray || !(probe.is_integer() || v->array_type == ValueType::kBool)) {
    wrong_type(path_, key, *v, "an array of integers");
  }
  out.reserve(v->array.size());
  for (const Value& e : v->array) {
    bool neg = is_signed(e.type) && e.i < 0;
    uint64_t mag = is_signed(e.type) ? (neg ? 0 - uint64_t(e.i) : uint64_t(e.i)) : e.u;
    if ((neg && mag > uint64_t(1) << 31) || (!neg && mag > uint64_t(INT32_MAX))) {
      throw FormatError(path_ + ": metadata '" + std::string(key) +
                        "' has an element outside the 32-bit range");
    }
    out.push_back(neg ? int32_t(-int64_t(mag)) : int32_t(mag));
  }
  return out;
}

}  // namespace gguf
