#include "server/show.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "create/modelfile.h"
#include "engine/gguf/gguf.h"
#include "ops/types.h"
#include "store/gojson.h"
#include "util/log.h"

namespace server {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

// Length of a valid UTF-8 sequence at s[i], or 0 when invalid.
size_t utf8_len(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

json gguf_value_json(const gguf::Value& v) {
  using T = gguf::ValueType;
  switch (v.type) {
    case T::kUint8:
    case T::kUint16:
    case T::kUint32:
    case T::kUint64:
      return v.u;
    case T::kInt8:
    case T::kInt16:
    case T::kInt32:
    case T::kInt64:
      return v.i;
    case T::kFloat32:
      return store::float32_as_shortest_double(static_cast<float>(v.f));
    case T::kFloat64:
      return v.f;
    case T::kBool:
      return v.u != 0;
    case T::kString:
      return v.s;
    case T::kArray: {
      json a = json::array();
      for (const auto& e : v.array) a.push_back(gguf_value_json(e));
      return a;
    }
  }
  return nullptr;
}

}  // namespace

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_len(s, i);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
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
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

std::string go_format_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits in scientific form: d[.ddd]e±X.
  char sci[64];
  auto r = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string s(sci, r.ptr);
  bool neg = s[0] == '-';
  if (neg) s.erase(0, 1);
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  int nd = static_cast<int>(digits.size());
  int dp = exp + 1;  // decimal point position relative to the digits
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
    return out;
  }
  if (dp <= 0) {
    out += "0." + std::string(-dp, '0') + digits;
  } else if (dp >= nd) {
    out += digits + std::string(dp - nd, '0');
  } else {
    out += digits.substr(0, dp) + "." + digits.substr(dp);
  }
  return out;
}

std::string go_format_value(const ojson& v, bool go_syntax) {
  if (v.is_string()) return go_syntax ? go_quote(v.get<std::string>()) : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return go_format_float(v.get<double>());
  if (v.is_null()) return "<nil>";
  if (v.is_array()) {
    // %v of []interface{}: [a b c]; %#v: []interface {}{"a", "b"}.
    std::string out = go_syntax ? "[]interface {}{" : "[";
    bool first = true;
    for (const auto& e : v) {
      out += first ? "" : (go_syntax ? ", " : " ");
      out += go_format_value(e, go_syntax);
      first = false;
    }
    return out + (go_syntax ? "}" : "]");
  }
  return v.dump();
}

std::string format_show_parameters(const ojson& options) {
  std::string out;
  auto line = [&](const std::string& k, const ojson& v) {
    char key[64];
    std::snprintf(key, sizeof key, "%-30s", k.c_str());
    if (!out.empty()) out += '\n';
    out += (k.size() >= 30 ? k : std::string(key)) + " " + go_format_value(v, true);
  };
  if (!options.is_object()) return out;
  for (auto it = options.begin(); it != options.end(); ++it) {
    if (it.value().is_array()) {
      for (const auto& e : it.value()) line(it.key(), e);
    } else {
      line(it.key(), it.value());
    }
  }
  return out;
}

std::string render_show_modelfile(const store::Model& m) {
  create::Modelfile mf;
  auto add = [&](std::string name, std::string args) {
    mf.commands.push_back(create::ModelfileCommand{std::move(name), std::move(args)});
  };
  add("model", m.model_path);
  for (const auto& a : m.adapter_paths) add("adapter", a);
  if (!m.draft_path.empty()) add("draft", m.draft_path);
  for (const auto& p : m.projector_paths) add("model", p);
  add("template", m.template_text);
  if (!m.system.empty()) add("system", m.system);
  if (!m.config.renderer.empty()) add("renderer", m.config.renderer);
  if (!m.config.parser.empty()) add("parser", m.config.parser);
  if (m.options.is_object()) {
    for (auto it = m.options.begin(); it != m.options.end(); ++it) {
      if (it.value().is_array()) {
        for (const auto& e : it.value()) add(it.key(), go_format_value(e, false));
      } else {
        add(it.key(), go_format_value(it.value(), false));
      }
    }
  }
  for (const auto& l : m.licenses) add("license", l);
  for (const auto& msg : m.messages) add("message", msg.role + ": " + msg.content);
  return "# Modelfile generated by \"ollama show\"\n"
         "# To build a new Modelfile based on this, replace FROM with:\n"
         "# FROM " +
         m.short_name + "\n\n" + mf.to_string();
}

nlohmann::json gguf_model_info(const gguf::File& f, bool verbose) {
  json info = json::object();
  for (const auto& [key, value] : f.metadata()) {
    if (key == "general.name" || key == "tokenizer.chat_template") continue;
    if (value.type == gguf::ValueType::kArray && value.array.size() > 5 && !verbose) {
      info[key] = json::array();
      continue;
    }
    info[key] = gguf_value_json(value);
  }
  uint64_t params = 0;
  for (const auto& t : f.tensors()) params += static_cast<uint64_t>(t.n_elements());
  info["general.parameter_count"] = params;
  return info;
}

std::vector<api::TensorSummary> gguf_tensor_summaries(const gguf::File& f) {
  std::vector<api::TensorSummary> out;
  out.reserve(f.tensors().size());
  for (const auto& t : f.tensors()) {
    api::TensorSummary s;
    s.name = t.name;
    const ops::TypeInfo* ti = ops::type_info(t.type);
    s.type = ti ? ti->name : "type" + std::to_string(t.type);
    for (int64_t d : t.dims) s.shape.push_back(static_cast<uint64_t>(d));
    out.push_back(std::move(s));
  }
  return out;
}

api::ShowResponse build_show_response(store::Model m, const api::ShowRequest& req,
                                      const api::Timestamp& modified_at) {
  if (!req.system.empty()) m.system = req.system;
  if (!req.template_text.empty()) m.template_text = req.template_text;

  api::ShowResponse r;
  std::string license;
  for (size_t i = 0; i < m.licenses.size(); ++i) license += (i ? "\n" : "") + m.licenses[i];
  r.license = license;
  r.system = m.system;
  r.template_text = m.template_text;
  r.details.parent_model = m.parent_model;
  r.details.format = m.config.model_format;
  r.details.family = m.config.model_family;
  r.details.families = m.config.model_families;
  r.details.parameter_size = m.config.model_type;
  r.details.quantization_level = m.config.file_type;
  for (const auto& msg : m.messages) r.messages.push_back(api::Message{msg.role, msg.content});
  r.renderer = m.config.renderer;
  r.parser = m.config.parser;
  r.requires_version = m.config.requires_version;
  r.remote_model = m.config.remote_model;
  r.remote_host = m.config.remote_host;
  r.modified_at = modified_at;
  r.parameters = format_show_parameters(m.options);

  if (req.options.is_object()) {
    for (auto it = req.options.begin(); it != req.options.end(); ++it)
      m.options[it.key()] = it.value();
  }
  r.modelfile = render_show_modelfile(m);

  std::unique_ptr<gguf::File> weights;
  if (m.config.remote_host.empty() && !m.model_path.empty()) {
    weights = gguf::File::open_metadata(m.model_path);
    r.model_info = gguf_model_info(*weights, req.verbose);
    r.tensors = gguf_tensor_summaries(*weights);
    if (!m.projector_paths.empty()) {
      auto proj = gguf::File::open_metadata(m.projector_paths.front());
      r.projector_info = gguf_model_info(*proj, req.verbose);
    }
  }
  std::shared_ptr<const engine::ModelCard> card;
  if (m.config.remote_host.empty() && !m.model_path.empty()) card = engine::inspect(m.model_path);
  r.capabilities = model_capabilities(m, card.get());
  return r;
}

}  // namespace server
