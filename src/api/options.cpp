// The option table: each option's name, whether it is load-time, and the `Options` field it
// fills (its type follows from the field).
#include "api/options.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <variant>

#include "api/limits.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace api {
namespace {

using Strings = std::vector<std::string>;
using Field = std::variant<std::optional<int> Options::*, std::optional<float> Options::*,
                           std::optional<bool> Options::*, std::optional<Strings> Options::*>;

struct Entry {
  OptionInfo info;
  Field field;
};

template <class T>
constexpr OptionType type_of() {
  if constexpr (std::is_same_v<T, int>) return OptionType::kInt;
  if constexpr (std::is_same_v<T, float>) return OptionType::kFloat;
  if constexpr (std::is_same_v<T, bool>) return OptionType::kBool;
  return OptionType::kStringList;
}

template <class T>
Entry entry(const char* name, std::optional<T> Options::*field, bool load_time) {
  return {{name, type_of<T>(), load_time}, field};
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      entry("num_ctx", &Options::num_ctx, true),
      entry("num_batch", &Options::num_batch, true),
      entry("num_gpu", &Options::num_gpu, true),
      entry("main_gpu", &Options::main_gpu, true),
      entry("use_mmap", &Options::use_mmap, true),
      entry("num_thread", &Options::num_thread, true),
      entry("draft_num_predict", &Options::draft_num_predict, true),
      entry("num_keep", &Options::num_keep, false),
      entry("seed", &Options::seed, false),
      entry("num_predict", &Options::num_predict, false),
      entry("top_k", &Options::top_k, false),
      entry("top_p", &Options::top_p, false),
      entry("min_p", &Options::min_p, false),
      entry("typical_p", &Options::typical_p, false),
      entry("repeat_last_n", &Options::repeat_last_n, false),
      entry("temperature", &Options::temperature, false),
      entry("repeat_penalty", &Options::repeat_penalty, false),
      entry("presence_penalty", &Options::presence_penalty, false),
      entry("frequency_penalty", &Options::frequency_penalty, false),
      entry("stop", &Options::stop, false),
  };
  return kEntries;
}

const Entry* find(std::string_view name) {
  for (const auto& e : entries())
    if (name == e.info.name) return &e;
  return nullptr;
}

const char* type_name(OptionType t) {
  switch (t) {
    case OptionType::kInt:
      return "integer";
    case OptionType::kFloat:
      return "float32";
    case OptionType::kBool:
      return "boolean";
    case OptionType::kStringList:
      return "array";
  }
  return "unknown";
}

// JSON number -> int64 without undefined behaviour: floats are truncated, anything beyond
// int64 saturates.
template <class J>
int64_t saturating_int64(const J& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.template get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.template get<int64_t>();
  const double d = std::trunc(v.template get<double>());
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return INT64_MAX;
  if (d <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(d);
}

// The engine takes integer options as C ints: values beyond them saturate (a num_predict of
// 2^64 means "unbounded", not one token after a wrap). num_thread is clamped to the CPUs this
// process may use: more threads cannot run faster, and an absurd count would exhaust the
// host's threads.
int clamp_int_option(std::string_view key, int64_t v) {
  v = std::clamp<int64_t>(v, INT32_MIN, INT32_MAX);
  if (key == "num_batch" && v > kMaxNumBatch) {
    // Scratch buffers grow with the batch: a huge one would take the machine's memory.
    LOG_WARN("num_batch {} is above {}; using {}", v, kMaxNumBatch, kMaxNumBatch);
    v = kMaxNumBatch;
  }
  if (key == "num_thread") {
    const int64_t cpus = util::available_cpus();
    if (v > cpus) {
      LOG_WARN("num_thread {} exceeds the {} CPUs available; using {}", v, cpus, cpus);
      v = cpus;
    }
    if (v < 0) v = 0;  // runtime decides, as 0
  }
  return static_cast<int>(v);
}

// One option's value into its field; 400 when the JSON type is wrong.
template <class J>
void set_field(Options& o, const Entry& e, const std::string& key, const J& v) {
  auto fail = [&] {
    return util::bad_request("option \"" + key + "\" must be of type " + type_name(e.info.type));
  };
  std::visit(
      [&](auto member) {
        using T = typename std::remove_reference_t<decltype(o.*member)>::value_type;
        if constexpr (std::is_same_v<T, int>) {
          if (!v.is_number()) throw fail();
          o.*member = clamp_int_option(key, saturating_int64(v));
        } else if constexpr (std::is_same_v<T, float>) {
          if (!v.is_number() || !std::isfinite(v.template get<double>())) throw fail();
          o.*member = static_cast<float>(v.template get<double>());
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!v.is_boolean()) throw fail();
          o.*member = v.template get<bool>();
        } else {
          if (!v.is_array()) throw fail();
          if (key == "stop") check_count("stop sequences", v.size(), kMaxStop);
          Strings list;
          list.reserve(v.size());
          for (const auto& s : v) {
            if (!s.is_string())
              throw util::bad_request("option \"" + key + "\" must be of type array of strings");
            list.push_back(s.template get<std::string>());
          }
          o.*member = std::move(list);
        }
      },
      e.field);
}

}  // namespace

const std::vector<OptionInfo>& option_table() {
  static const std::vector<OptionInfo> kTable = [] {
    std::vector<OptionInfo> t;
    for (const auto& e : entries()) t.push_back(e.info);
    return t;
  }();
  return kTable;
}

std::optional<OptionType> option_type(std::string_view name) {
  const Entry* e = find(name);
  return e ? std::optional<OptionType>(e->info.type) : std::nullopt;
}

bool is_deprecated_option(std::string_view name) {
  static const char* kDeprecated[] = {"penalize_newline", "low_vram",     "f16_kv",
                                      "logits_all",       "vocab_only",   "use_mlock",
                                      "mirostat",         "mirostat_tau", "mirostat_eta"};
  for (const char* d : kDeprecated)
    if (name == d) return true;
  return false;
}

namespace {

// Either JSON flavour: a request's options, or a model's params layer as the store keeps it.
template <class J>
Options parse_options(const J& options) {
  Options out;
  if (!options.is_object()) return out;
  for (auto it = options.begin(); it != options.end(); ++it) {
    const Entry* e = find(it.key());
    if (!e) {
      LOG_WARN("invalid option provided option={}", it.key());
      continue;
    }
    if (!it.value().is_null()) set_field(out, *e, it.key(), it.value());
  }
  return out;
}

}  // namespace

Options Options::parse(const nlohmann::json& options) { return parse_options(options); }
Options Options::parse(const nlohmann::ordered_json& options) { return parse_options(options); }

void Options::merge(const Options& over) {
  for (const auto& e : entries())
    std::visit(
        [&](auto member) {
          if (over.*member) this->*member = over.*member;
        },
        e.field);
}

}  // namespace api
