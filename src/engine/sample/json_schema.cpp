#include "engine/sample/json_schema.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "engine/sample/regex_grammar.h"
#include "util/error.h"
#include "util/json.h"

namespace engine::sample {

using Elem = Grammar::Elem;
using Seq = std::vector<Elem>;
using ojson = nlohmann::ordered_json;

namespace {

constexpr int kMaxSchemaDepth = 128;          // nesting of schemas inside schemas
constexpr int64_t kIntCap = 999999999999999;  // 15 digits: unbounded sides of number ranges
constexpr int kMaxDigits = 15;

[[noreturn]] void fail(const std::string& why) { throw util::bad_request("format: " + why); }

// ---- integer ranges as regexes over digits ----

std::string digits(size_t n) { return n == 0 ? "" : "[0-9]{" + std::to_string(n) + "}"; }

// Digit strings of one length from lo to hi (lo <= hi).
std::string same_len(const std::string& lo, const std::string& hi) {
  if (lo.empty()) return "";
  if (lo == hi) return lo;
  const std::string lr = lo.substr(1), hr = hi.substr(1);
  if (lo[0] == hi[0]) return lo.substr(0, 1) + "(" + same_len(lr, hr) + ")";
  const size_t n = lr.size();
  const std::string nines(n, '9'), zeros(n, '0');
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "|") + s; };
  char mid_lo = static_cast<char>(lo[0] + 1), mid_hi = static_cast<char>(hi[0] - 1);
  if (lr == zeros) {
    mid_lo = lo[0];
  } else {
    add(lo.substr(0, 1) + "(" + same_len(lr, nines) + ")");
  }
  if (hr == nines) {
    mid_hi = hi[0];
  }
  if (mid_lo <= mid_hi)
    add("[" + std::string(1, mid_lo) + "-" + std::string(1, mid_hi) + "]" + digits(n));
  if (hr != nines) add(hi.substr(0, 1) + "(" + same_len(zeros, hr) + ")");
  return "(" + out + ")";
}

// Decimal numbers from a to b, 0 <= a <= b.
std::string nonneg_range(int64_t a, int64_t b) {
  std::string out;
  const size_t la = std::to_string(a).size(), lb = std::to_string(b).size();
  for (size_t len = la; len <= lb; len++) {
    const int64_t first = len == 1 ? 0 : static_cast<int64_t>(std::pow(10, len - 1));
    const int64_t last = static_cast<int64_t>(std::pow(10, len)) - 1;
    const int64_t lo = std::max(a, first), hi = std::min(b, last);
    if (lo > hi) continue;
    out += (out.empty() ? "" : "|") + same_len(std::to_string(lo), std::to_string(hi));
  }
  return "(" + out + ")";
}

// Integers from lo to hi (lo <= hi), as JSON writes them.
std::string int_range(int64_t lo, int64_t hi) {
  std::string out;
  if (lo < 0) out = "-" + nonneg_range(std::max<int64_t>(1, -hi), -lo);
  if (hi >= 0) out += (out.empty() ? "" : "|") + nonneg_range(std::max<int64_t>(0, lo), hi);
  return "(" + out + ")";
}

// A count keyword (minItems, maxLength, ...): `def` when absent or not a number; values
// beyond any usable bound come back as INT64_MAX / -1 for the caller's range check.
int64_t count(const ojson& s, const char* key, int64_t def) {
  auto it = s.find(key);
  if (it == s.end() || !it->is_number()) return def;
  if (it->is_number_unsigned())
    return it->get<uint64_t>() > INT64_MAX ? INT64_MAX : static_cast<int64_t>(it->get<uint64_t>());
  if (it->is_number_integer()) return std::max<int64_t>(it->get<int64_t>(), -1);
  const double d = it->get<double>();
  if (!(d >= 0)) return -1;
  return d >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(d);
}

std::optional<double> num(const ojson& s, const char* key) {
  auto it = s.find(key);
  if (it == s.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

class Compiler {
 public:
  Compiler(Grammar& g, const ojson& doc) : g_(g), j_(g), doc_(doc) {}

  uint32_t ws() const { return j_.ws; }

  uint32_t any_value() {
    if (any_ != kNone) return any_;
    any_ = g_.new_rule();
    const uint32_t obj = free_object(), arr = free_array();
    g_.add_alt(any_, {Grammar::ref(obj)});
    g_.add_alt(any_, {Grammar::ref(arr)});
    g_.add_alt(any_, {Grammar::ref(string_rule(0, -1))});
    g_.add_alt(any_, {Grammar::ref(number_rule())});
    for (const char* lit : {"true", "false", "null"}) g_.add_alt(any_, g_.literal(lit));
    return any_;
  }

  uint32_t free_object() {
    if (free_obj_ != kNone) return free_obj_;
    free_obj_ = g_.new_rule();
    const uint32_t kv = key_value(Grammar::ref(string_rule(0, -1)), Grammar::ref(any_value()));
    Seq more = g_.literal(",");
    more.push_back(Grammar::ref(j_.ws));
    more.push_back(Grammar::ref(kv));
    Seq body = g_.literal("{");
    body.push_back(Grammar::ref(j_.ws));
    body.push_back(Grammar::ref(kv));
    body.push_back(Grammar::ref(j_.repeat(more, 0, -1)));
    body.push_back(g_.literal("}")[0]);
    g_.add_alt(free_obj_, body);
    Seq empty = g_.literal("{");
    empty.push_back(Grammar::ref(j_.ws));
    empty.push_back(g_.literal("}")[0]);
    g_.add_alt(free_obj_, empty);
    return free_obj_;
  }

  uint32_t free_array() {
    if (free_arr_ != kNone) return free_arr_;
    free_arr_ = g_.new_rule();
    g_.add_alt(free_arr_, {Grammar::ref(array_of(any_value(), 0, -1))});
    return free_arr_;
  }

  // The rule for a value of schema s.
  uint32_t value(const ojson& s, int depth) {
    if (depth > kMaxSchemaDepth) fail("the schema nests too deeply");
    if (s.is_boolean()) {
      if (!s.get<bool>()) fail("a schema of false admits no value");
      return any_value();
    }
    if (!s.is_object()) fail("a schema must be an object, got " + s.dump());
    if (auto it = s.find("$ref"); it != s.end() && it->is_string()) return ref(*it, depth);
    if (auto it = s.find("const"); it != s.end()) return j_.alts({g_.literal(it->dump())});
    if (auto it = s.find("enum"); it != s.end()) {
      if (!it->is_array() || it->empty()) fail("enum must be a non-empty array");
      std::vector<Seq> alts;
      for (const auto& v : *it) alts.push_back(g_.literal(v.dump()));
      return j_.alts(alts);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (auto it = s.find(key); it != s.end()) {
        if (!it->is_array() || it->empty()) fail(std::string(key) + " must be a non-empty array");
        std::vector<Seq> alts;
        for (const auto& sub : *it) alts.push_back({Grammar::ref(value(sub, depth + 1))});
        return j_.alts(alts);
      }
    }
    if (auto it = s.find("allOf"); it != s.end()) return all_of(*it, depth);
    std::vector<std::string> types;
    if (auto it = s.find("type"); it != s.end()) {
      if (it->is_string()) {
        types.push_back(*it);
      } else if (it->is_array()) {
        for (const auto& t : *it) {
          if (!t.is_string()) fail("type must hold strings");
          types.push_back(t);
        }
      } else {
        fail("type must be a string or an array of strings");
      }
    } else if (s.contains("properties") || s.contains("additionalProperties")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("prefixItems")) {
      types.push_back("array");
    } else {
      return any_value();
    }
    if (s.value("nullable", false)) types.push_back("null");
    std::vector<Seq> alts;
    for (const std::string& t : types) alts.push_back({Grammar::ref(typed(s, t, depth))});
    return alts.size() == 1 ? alts[0][0].index : j_.alts(alts);
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  uint32_t typed(const ojson& s, const std::string& t, int depth) {
    if (t == "object") return object(s, depth);
    if (t == "array") return array(s, depth);
    if (t == "string") return string_schema(s);
    if (t == "integer") return integer(s);
    if (t == "number") return number(s);
    if (t == "boolean") return j_.alts({g_.literal("true"), g_.literal("false")});
    if (t == "null") return j_.alts({g_.literal("null")});
    fail("unknown type \"" + t + "\"");
  }

  uint32_t ref(const std::string& r, int depth) {
    if (auto it = refs_.find(r); it != refs_.end()) return it->second;
    if (r.empty() || r[0] != '#') fail("only local $ref (\"#/...\") is supported: " + r);
    const ojson* target = nullptr;
    try {
      target = &doc_.at(ojson::json_pointer(r.substr(1)));
    } catch (const std::exception&) {
      fail("$ref " + r + " does not resolve");
    }
    const uint32_t rule = g_.new_rule();
    refs_[r] = rule;
    g_.add_alt(rule, {Grammar::ref(value(*target, depth + 1))});
    return rule;
  }

  const ojson& resolve(const ojson& s) {
    if (s.is_object()) {
      if (auto it = s.find("$ref"); it != s.end() && it->is_string()) {
        const std::string r = *it;
        try {
          return doc_.at(ojson::json_pointer(r.substr(r.empty() ? 0 : 1)));
        } catch (const std::exception&) {
          fail("$ref " + r + " does not resolve");
        }
      }
    }
    return s;
  }

  // allOf of object schemas: their properties and required lists merged into one object.
  uint32_t all_of(const ojson& parts, int depth) {
    if (!parts.is_array() || parts.empty()) fail("allOf must be a non-empty array");
    ojson merged = {
        {"type", "object"}, {"properties", ojson::object()}, {"required", ojson::array()}};
    for (const auto& p : parts) {
      const ojson& r = resolve(p);
      if (!r.is_object()) fail("allOf parts must be schemas");
      if (auto it = r.find("properties"); it != r.end() && it->is_object())
        for (auto kv = it->begin(); kv != it->end(); ++kv)
          merged["properties"][kv.key()] = kv.value();
      if (auto it = r.find("required"); it != r.end() && it->is_array())
        for (const auto& k : *it) merged["required"].push_back(k);
      if (auto it = r.find("additionalProperties"); it != r.end())
        merged["additionalProperties"] = *it;
    }
    return object(merged, depth);
  }

  uint32_t key_value(Elem key, Elem val) {
    Seq kv{key, Grammar::ref(j_.ws)};
    kv.push_back(g_.literal(":")[0]);
    kv.push_back(Grammar::ref(j_.ws));
    kv.push_back(val);
    kv.push_back(Grammar::ref(j_.ws));
    return j_.alts({kv});
  }

  uint32_t object(const ojson& s, int depth) {
    const auto props = s.find("properties");
    const auto addl = s.find("additionalProperties");
    const bool has_props = props != s.end() && props->is_object() && !props->empty();
    // Without properties an object is free unless additionalProperties says otherwise.
    if (!has_props && (addl == s.end() || (addl->is_boolean() && addl->get<bool>())))
      return free_object();
    std::vector<std::string> required;
    if (auto it = s.find("required"); it != s.end() && it->is_array())
      for (const auto& k : *it)
        if (k.is_string()) required.push_back(k);
    struct Prop {
      uint32_t kv;
      bool req;
    };
    std::vector<Prop> list;
    if (has_props) {
      for (auto kv = props->begin(); kv != props->end(); ++kv) {
        const bool req = std::find(required.begin(), required.end(), kv.key()) != required.end();
        const uint32_t v = value(kv.value(), depth + 1);
        const uint32_t key = j_.alts({g_.literal(ojson(kv.key()).dump())});
        list.push_back({key_value(Grammar::ref(key), Grammar::ref(v)), req});
      }
    }
    // Extra members: additionalProperties true or a schema.
    uint32_t extra = kNone;
    if (addl != s.end() && !(addl->is_boolean() && !addl->get<bool>())) {
      const uint32_t v = addl->is_boolean() ? any_value() : value(*addl, depth + 1);
      extra = key_value(Grammar::ref(string_rule(0, -1)), Grammar::ref(v));
    }
    // rest(i, comma): members i.. where comma says a member came before.
    std::map<std::pair<size_t, bool>, uint32_t> memo;
    std::function<uint32_t(size_t, bool)> rest = [&](size_t i, bool comma) -> uint32_t {
      if (auto it = memo.find({i, comma}); it != memo.end()) return it->second;
      const uint32_t r = g_.new_rule();
      memo[{i, comma}] = r;
      auto lead = [&]() {
        Seq s2;
        if (comma) {
          s2 = g_.literal(",");
          s2.push_back(Grammar::ref(j_.ws));
        }
        return s2;
      };
      if (i == list.size()) {
        g_.add_alt(r, {});
        if (extra != kNone) {
          Seq more = lead();
          more.push_back(Grammar::ref(extra));
          more.push_back(Grammar::ref(rest(i, true)));
          g_.add_alt(r, more);
        }
        return r;
      }
      Seq take = lead();
      take.push_back(Grammar::ref(list[i].kv));
      take.push_back(Grammar::ref(rest(i + 1, true)));
      g_.add_alt(r, take);
      if (!list[i].req) g_.add_alt(r, {Grammar::ref(rest(i + 1, comma))});
      return r;
    };
    Seq body = g_.literal("{");
    body.push_back(Grammar::ref(j_.ws));
    body.push_back(Grammar::ref(rest(0, false)));
    body.push_back(g_.literal("}")[0]);
    return j_.alts({body});
  }

  // "[" items "]" with n items of rule item, min <= n <= max (max < 0: unbounded).
  uint32_t array_of(uint32_t item, int64_t min, int64_t max) {
    Seq it{Grammar::ref(item), Grammar::ref(j_.ws)};
    Seq more = g_.literal(",");
    more.push_back(Grammar::ref(j_.ws));
    more.insert(more.end(), it.begin(), it.end());
    Seq open = g_.literal("[");
    open.push_back(Grammar::ref(j_.ws));
    Seq close = g_.literal("]");
    std::vector<Seq> alts;
    if (min == 0) {
      Seq e = open;
      e.push_back(close[0]);
      alts.push_back(e);
    }
    if (max != 0) {
      Seq full = open;
      full.insert(full.end(), it.begin(), it.end());
      full.push_back(
          Grammar::ref(j_.repeat(more, std::max<int64_t>(0, min - 1), max < 0 ? -1 : max - 1)));
      full.push_back(close[0]);
      alts.push_back(full);
    }
    if (alts.empty()) fail("maxItems below minItems");
    return j_.alts(alts);
  }

  uint32_t array(const ojson& s, int depth) {
    const int64_t min = count(s, "minItems", 0);
    const int64_t max = count(s, "maxItems", -1);
    if (min < 0 || (max >= 0 && max < min)) fail("bad minItems/maxItems");
    auto prefix = s.find("prefixItems");
    const auto items = s.find("items");
    if (prefix == s.end() || !prefix->is_array() || prefix->empty()) {
      const uint32_t item = items == s.end() ? any_value() : value(*items, depth + 1);
      return array_of(item, min, max);
    }
    // The prefix items in order, then items (if allowed) for the rest.
    Seq body = g_.literal("[");
    body.push_back(Grammar::ref(j_.ws));
    bool first = true;
    for (const auto& p : *prefix) {
      if (!first) {
        body.push_back(g_.literal(",")[0]);
        body.push_back(Grammar::ref(j_.ws));
      }
      first = false;
      body.push_back(Grammar::ref(value(p, depth + 1)));
      body.push_back(Grammar::ref(j_.ws));
    }
    const int64_t n = static_cast<int64_t>(prefix->size());
    if (items != s.end() && !(items->is_boolean() && !items->get<bool>())) {
      Seq more = g_.literal(",");
      more.push_back(Grammar::ref(j_.ws));
      more.push_back(Grammar::ref(value(*items, depth + 1)));
      more.push_back(Grammar::ref(j_.ws));
      body.push_back(Grammar::ref(j_.repeat(more, std::max<int64_t>(0, min - n),
                                            max < 0 ? -1 : std::max<int64_t>(0, max - n))));
    }
    body.push_back(g_.literal("]")[0]);
    return j_.alts({body});
  }

  uint32_t string_rule(int64_t min, int64_t max) {
    const uint32_t chars = j_.repeat({Grammar::ref(j_.str_char)}, min, max);
    Seq s = g_.literal("\"");
    s.push_back(Grammar::ref(chars));
    s.push_back(g_.literal("\"")[0]);
    return j_.alts({s});
  }

  uint32_t string_schema(const ojson& s) {
    static const std::map<std::string, const char*> kFormats = {
        {"date", "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"},
        {"time",
         "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5]["
         "0-9])"},
        {"date-time",
         "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-"
         "9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"},
        {"uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"},
        {"email", "[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63}){1,4}"},
    };
    std::string pattern;
    if (auto it = s.find("pattern"); it != s.end() && it->is_string()) pattern = *it;
    if (auto it = s.find("format"); pattern.empty() && it != s.end() && it->is_string()) {
      if (auto f = kFormats.find(*it); f != kFormats.end()) pattern = f->second;
    }
    if (!pattern.empty()) {
      Seq q = g_.literal("\"");
      q.push_back(Grammar::ref(regex_rule(j_, pattern)));
      q.push_back(g_.literal("\"")[0]);
      return j_.alts({q});
    }
    const int64_t min = count(s, "minLength", 0);
    const int64_t max = count(s, "maxLength", -1);
    return string_rule(min, max);
  }

  uint32_t number_rule() {
    if (number_ != kNone) return number_;
    const std::string d = std::to_string(kMaxDigits);
    number_ = regex_rule(j_, "-?(0|[1-9][0-9]{0," + std::to_string(kMaxDigits - 1) +
                                 "})(\\.[0-9]{1," + d + "})?([eE][+-]?[0-9]{1,3})?");
    return number_;
  }

  uint32_t integer(const ojson& s) {
    auto lo = num(s, "minimum"), hi = num(s, "maximum");
    if (auto x = num(s, "exclusiveMinimum")) lo = std::floor(*x) + 1;
    if (auto x = num(s, "exclusiveMaximum")) hi = std::ceil(*x) - 1;
    const double l = lo ? std::ceil(*lo) : -static_cast<double>(kIntCap);
    const double h = hi ? std::floor(*hi) : static_cast<double>(kIntCap);
    const auto li = static_cast<int64_t>(std::clamp(l, -1.0 * kIntCap, 1.0 * kIntCap));
    const auto hi_i = static_cast<int64_t>(std::clamp(h, -1.0 * kIntCap, 1.0 * kIntCap));
    if (li > hi_i) fail("no integer lies between minimum and maximum");
    return regex_rule(j_, int_range(li, hi_i));
  }

  uint32_t number(const ojson& s) {
    const auto lo = num(s, "minimum"), hi = num(s, "maximum");
    const auto xlo = num(s, "exclusiveMinimum"), xhi = num(s, "exclusiveMaximum");
    if (!lo && !hi && !xlo && !xhi) return number_rule();
    const double cap = static_cast<double>(kIntCap);
    const bool lex = xlo.has_value(), hex = xhi.has_value();
    const double L = std::clamp(xlo ? *xlo : lo ? *lo : -cap, -cap, cap);
    const double H = std::clamp(xhi ? *xhi : hi ? *hi : cap, -cap, cap);
    // Whole numbers in range.
    const double ilo = lex && std::floor(L) == L ? L + 1 : std::ceil(L);
    const double ihi = hex && std::floor(H) == H ? H - 1 : std::floor(H);
    std::string re;
    auto add = [&](const std::string& x) { re += (re.empty() ? "" : "|") + x; };
    if (ilo <= ihi) add(int_range(static_cast<int64_t>(ilo), static_cast<int64_t>(ihi)));
    // k.f for k >= 0 lies in [k, k + 1): inside when k >= L (k > L if exclusive) and k + 1 <= H.
    const std::string frac = "\\.[0-9]{1," + std::to_string(kMaxDigits) + "}";
    const double plo = std::max(0.0, lex ? std::floor(L) + 1 : std::ceil(L));
    const double phi = std::floor(H) - 1;
    if (plo <= phi) add(int_range(static_cast<int64_t>(plo), static_cast<int64_t>(phi)) + frac);
    // -m.f for m >= 1 lies in (-m - 1, -m]: inside when -m - 1 >= L and -m <= H (< if exclusive).
    const double mlo = std::max(1.0, hex ? std::floor(-H) + 1 : std::ceil(-H));
    const double mhi = std::floor(-L) - 1;
    if (mlo <= mhi)
      add("-" + nonneg_range(static_cast<int64_t>(mlo), static_cast<int64_t>(mhi)) + frac);
    if (re.empty()) fail("no number lies between the bounds");
    return regex_rule(j_, re);
  }

  Grammar& g_;
  JsonRules j_;
  const ojson& doc_;
  std::map<std::string, uint32_t> refs_;
  uint32_t any_ = kNone, free_obj_ = kNone, free_arr_ = kNone, number_ = kNone;
};

}  // namespace

std::string FormatSpec::key() const {
  std::string k = lead_open + '\0' + lead_close;
  for (const Branch& b : branches) k += '\0' + b.prefix + '\0' + b.format;
  return k;
}

std::shared_ptr<const Grammar> compile_format(std::string_view format, std::string_view prefix) {
  return compile_format(FormatSpec{{{std::string(prefix), std::string(format)}}, "", ""});
}

std::shared_ptr<const Grammar> compile_format(const FormatSpec& spec) {
  if (spec.branches.empty()) fail("nothing to follow");
  auto g = std::make_shared<Grammar>();
  std::vector<std::vector<Grammar::Elem>> alts;
  uint32_t ws = 0;
  // Each branch compiles against its own document ($ref resolves inside it); the building
  // blocks are repeated per branch, which costs a few rules.
  std::vector<ojson> docs(spec.branches.size());
  for (size_t i = 0; i < spec.branches.size(); i++) {
    const FormatSpec::Branch& b = spec.branches[i];
    const bool json_mode = b.format == "json" || b.format == "\"json\"";
    if (!json_mode) {
      try {
        docs[i] = util::parse_json<ojson>(b.format);
      } catch (const util::Error&) {
        throw;
      } catch (const std::exception&) {
        fail("invalid JSON schema");
      }
      if (!docs[i].is_object()) fail("must be \"json\" or a JSON schema object");
    }
    Compiler c(*g, docs[i]);
    ws = c.ws();
    uint32_t value = 0;
    try {
      value = json_mode ? c.free_object() : c.value(docs[i], 0);
    } catch (const nlohmann::json::exception& e) {  // a keyword of the wrong JSON type
      fail(std::string("invalid schema: ") + e.what());
    }
    std::vector<Grammar::Elem> seq;
    if (b.prefix.empty()) {  // a little leading whitespace (SentencePiece words start with one)
      seq.push_back(Grammar::ref(c.ws()));
    } else {  // the tag first: nothing before it would be left over as content
      seq = g->literal(b.prefix);
      seq.push_back(Grammar::ref(c.ws()));
    }
    seq.push_back(Grammar::ref(value));
    alts.push_back(seq);
  }
  (void)ws;
  const uint32_t body = g->new_rule();
  for (const auto& a : alts) g->add_alt(body, a);
  const uint32_t root = g->new_rule();
  if (!spec.lead_open.empty()) {
    // Free text: any byte but '<', or '<' not followed by '|' (special markers end it).
    Grammar::ByteSet not_lt, not_bar;
    not_lt.set();
    not_lt.reset('<');
    not_bar.set();
    not_bar.reset('|');
    const uint32_t text = g->new_rule();
    std::vector<Grammar::Elem> one{g->chars(not_lt), Grammar::ref(text)};
    g->add_alt(text, one);
    std::vector<Grammar::Elem> lt = g->literal("<");
    lt.push_back(g->chars(not_bar));
    lt.push_back(Grammar::ref(text));
    g->add_alt(text, lt);
    g->add_alt(text, {});
    std::vector<Grammar::Elem> lead = g->literal(spec.lead_open);
    lead.push_back(Grammar::ref(text));
    const auto close = g->literal(spec.lead_close);
    lead.insert(lead.end(), close.begin(), close.end());
    lead.push_back(Grammar::ref(body));
    g->add_alt(root, lead);
  }
  g->add_alt(root, {Grammar::ref(body)});
  g->set_root(root);
  return g;
}

}  // namespace engine::sample
