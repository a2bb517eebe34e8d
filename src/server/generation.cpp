#include "server/generation.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "engine/gguf/gguf.h"
#include "engine/sample/json_schema.h"
#include "prompt/builtin.h"
#include "server/show.h"
#include "store/name.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sha256.h"

namespace server {
namespace {

template <class T, class U>
void opt(const std::optional<T>& v, U& out) {
  if (v) out = static_cast<U>(*v);
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return;
  v.push_back(s);
}

}  // namespace

api::Options merge_options(const nlohmann::ordered_json& model_params,
                           const nlohmann::json& request_options) {
  api::Options merged = api::Options::parse(model_params);
  merged.merge(api::Options::parse(request_options));
  return merged;
}

runner::CompletionRequest completion_request(const api::Options& o) {
  runner::CompletionRequest r;
  auto& s = r.sampling;
  opt(o.top_k, s.top_k);
  opt(o.top_p, s.top_p);
  opt(o.min_p, s.min_p);
  opt(o.typical_p, s.typical_p);
  opt(o.temperature, s.temperature);
  opt(o.repeat_last_n, s.repeat_last_n);
  opt(o.repeat_penalty, s.repeat_penalty);
  opt(o.presence_penalty, s.presence_penalty);
  opt(o.frequency_penalty, s.frequency_penalty);
  opt(o.seed, s.seed);
  opt(o.num_predict, r.num_predict);
  opt(o.num_keep, r.num_keep);
  if (o.stop) r.stop = *o.stop;
  return r;
}

bool GenModel::has(const std::string& cap) const {
  for (const auto& c : capabilities)
    if (c == cap) return true;
  return false;
}

void GenModel::require(const std::string& cap) const {
  if (!has(cap)) throw util::bad_request(full_name + " does not support " + cap);
}

namespace {

// Weights changed on disk since they were verified (or never verified) are hashed again: a
// corrupt blob must not generate garbage (nor have its header read).
void verify_weights(Context& ctx, const store::Model& m, const std::string& raw_name) {
  if (!m.model_path.empty() && !ctx.store->verify_blob(m.model_digest))
    throw util::Error("model '" + raw_name + "' is corrupt: its weights (" + m.model_digest +
                      ") do not match their digest; pull or create it again");
}

// Everything resolve_model derives from a manifest: store data, card, capabilities, template.
GenModel build_model(Context& ctx, const store::ModelName& name, const std::string& raw_name) {
  GenModel g;
  g.model = store::load_model(*ctx.store, name);
  g.full_name = name.display_long();
  verify_weights(ctx, g.model, raw_name);
  if (!g.model.model_path.empty()) {
    try {
      g.card = engine::inspect(g.model.model_path);
    } catch (const std::exception& e) {
      // The reader's message starts with the blob's path: clients see the model's name.
      std::string why = e.what();
      const std::string& path = g.model.model_path;
      if (why.rfind(path, 0) == 0)
        why.erase(0, path.size() + (why.size() > path.size() + 1 ? 2 : 0));
      throw util::Error("model '" + raw_name + "' is unusable: " + why);
    }
  }
  g.capabilities = model_capabilities(g.model, g.card.get());
  HarmonyUse harmony = harmony_use(g.model, g.card.get());
  g.harmony_render = harmony.render;
  g.harmony_parse = harmony.parse;

  // §7.1: the TEMPLATE layer; else a built-in matching the GGUF chat template; else default.
  // A harmony model without a TEMPLATE layer keeps the default: chats use the renderer.
  g.template_text = g.model.template_text;
  if (!g.model.has_template_layer && g.harmony_render) {
    g.template_text = prompt::kDefaultTemplate;
    LOG_DEBUG("{}: using the harmony renderer", g.model.short_name);
  } else if (!g.model.has_template_layer) {
    g.template_text = prompt::kDefaultTemplate;
    const std::string jinja = g.card ? g.card->chat_template : "";
    if (const auto* b = jinja.empty() ? nullptr : prompt::detect_builtin(jinja)) {
      g.template_text = b->text;
      g.template_stop = b->stop;
      LOG_DEBUG("{}: using built-in template {}", g.model.short_name, b->name);
    } else {
      LOG_WARN("{}: no chat template; chat output may be poorly formatted", g.model.short_name);
    }
  }
  g.tmpl = prompt::load_template(g.template_text);
  for (const auto& c : prompt::template_capabilities(g.tmpl)) add_unique(g.capabilities, c);
  return g;
}

// Resolved models by store, name and manifest digest: a manifest names its layers by content,
// so the same manifest resolves to the same model. A re-created or re-pulled model has
// another manifest, and so another entry.
class ModelCache {
 public:
  std::shared_ptr<const GenModel> find(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = models_.find(key);
    return it == models_.end() ? nullptr : it->second;
  }
  void put(const std::string& key, std::shared_ptr<const GenModel> m) {
    std::lock_guard<std::mutex> l(mu_);
    if (models_.size() >= kMax) models_.clear();  // rare: many models in turn
    models_[key] = std::move(m);
  }

 private:
  static constexpr size_t kMax = 64;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const GenModel>> models_;
};

ModelCache& model_cache() {
  static ModelCache c;
  return c;
}

}  // namespace

GenModel resolve_model(Context& ctx, const std::string& raw_name) {
  auto name = store::ModelName::parse(raw_name);
  if (raw_name.empty() || !name.is_valid()) {
    if (raw_name.empty()) throw util::not_found("model '' not found");
    throw util::bad_request("invalid model name");
  }
  name = ctx.store->resolve(name);
  const std::optional<std::string> manifest = ctx.store->read_manifest_bytes(name);
  if (!manifest) throw util::not_found("model '" + raw_name + "' not found");
  const std::string key =
      ctx.config.models_dir + '\n' + name.display_long() + '\n' + util::sha256_hex(*manifest);
  std::shared_ptr<const GenModel> cached = model_cache().find(key);
  if (!cached) {
    cached = std::make_shared<const GenModel>(build_model(ctx, name, raw_name));
    model_cache().put(key, cached);
  }
  GenModel g = *cached;
  g.request_name = raw_name;
  verify_weights(ctx, g.model, raw_name);  // every time: the blob may have changed since
  return g;
}

const std::vector<int32_t>& PromptTokens::of(const std::string& text) {
  if (!have_ || text != text_) {
    tokens_ = runner_.tokenize(text);
    text_ = text;
    have_ = true;
  }
  return tokens_;
}

prompt::RenderFn chat_renderer(const GenModel& m, const prompt::Template* custom,
                               const prompt::Json& tools, const prompt::Think& think) {
  if (!custom && m.harmony_render)
    return [tools, think](const std::vector<prompt::Message>& msgs) {
      return prompt::render_harmony(msgs, tools, think);
    };
  const prompt::Template* tmpl = custom ? custom : &m.tmpl;
  return [tmpl, tools, think](const std::vector<prompt::Message>& msgs) {
    return prompt::render(*tmpl, msgs, tools, think);
  };
}

sched::ModelRequest model_request(const GenModel& m, const api::Options& options,
                                  std::optional<int64_t> keep_alive_ns) {
  sched::ModelRequest r;
  r.key = m.model.digest;
  r.name = m.model.short_name;
  r.path = m.model.model_path;
  api::ModelDetails d;
  d.parent_model = m.model.parent_model;
  d.format = m.model.config.model_format;
  d.family = m.model.config.model_family;
  d.families = m.model.config.model_families;
  d.parameter_size = m.model.config.model_type;
  d.quantization_level = m.model.config.file_type;
  r.details = d;
  opt(options.num_ctx, r.num_ctx);
  opt(options.num_batch, r.num_batch);
  opt(options.num_thread, r.num_thread);
  if (options.num_gpu) r.num_gpu = *options.num_gpu;
  r.keep_alive_ns = keep_alive_ns;
  if (r.path.empty()) throw util::bad_request("model '" + m.model.short_name + "' has no weights");
  return r;
}

prompt::Think resolve_think(const api::ThinkValue& t, const GenModel& m) {
  prompt::Think out;
  if (!t.set || (t.if_supported && !m.has("thinking"))) {
    if (m.has("thinking")) {
      out.set = true;
      out.enabled = true;
      out.level = "medium";
    }
    return out;
  }
  if (t.enabled && !m.has("thinking"))
    throw util::bad_request("\"" + m.request_name + "\" does not support thinking");
  out.set = true;
  out.enabled = t.enabled;
  out.level = t.enabled ? (t.level.empty() ? "medium" : t.level) : "";
  if (m.harmony_parse && out.level == "max") out.level = "high";
  return out;
}

std::string format_spec(const nlohmann::json& format, std::string_view body) {
  std::string spec;
  if (format.is_null()) return spec;
  if (format.is_string()) {
    spec = format.get<std::string>();
    if (spec.empty()) return spec;
    if (spec != "json") spec.clear();
  } else if (format.is_object()) {
    // The schema as the client wrote it: its property order is the output's order.
    const ojson o = util::parse_json<ojson>(body);
    spec = o.at("format").dump();
  }
  if (spec.empty()) {
    throw util::bad_request("invalid format: " + format.dump() +
                            "; expected \"json\" or a valid JSON Schema object");
  }
  engine::sample::compile_format(spec);  // a schema it cannot follow is a 400 now
  return spec;
}

prompt::Json tools_for_prompt(GenJob& job, const GenModel& m, const ojson& tools) {
  if (!tools.is_array() || tools.empty()) return nullptr;
  return m.harmony_parse ? prompt::harmony_tools(tools, job.harmony_names) : prompt::Json(tools);
}

namespace {

// A tool's function name; "" when the tool has none.
std::string function_name(const ojson& tool) {
  if (!tool.contains("function") || !tool["function"].contains("name")) return "";
  const ojson& name = tool["function"]["name"];
  return name.is_string() ? name.get<std::string>() : "";
}

std::vector<std::string> function_names(const ojson& tools) {
  std::vector<std::string> out;
  if (!tools.is_array()) return out;
  for (const auto& t : tools) {
    if (std::string name = function_name(t); !name.empty()) out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

void resolve_tool_choice(GenJob& job, const ojson& choice, ojson& tools) {
  if (choice.is_null() || (choice.is_string() && choice.get<std::string>() == "auto")) return;
  if (choice.is_string() && choice.get<std::string>() == "none") {
    tools = ojson::array();
    return;
  }
  const std::vector<std::string> all = function_names(tools);
  if (choice.is_string() && choice.get<std::string>() == "required") {
    if (all.empty()) throw util::bad_request("tool_choice \"required\" needs tools");
    job.forced_tools = all;
  } else if (choice.is_object()) {
    const ojson* f = choice.contains("function") ? &choice["function"] : &choice;
    const std::string name = f->is_object() && f->contains("name") && (*f)["name"].is_string()
                                 ? (*f)["name"].get<std::string>()
                                 : "";
    if (name.empty()) throw util::bad_request("tool_choice must name a function");
    if (std::find(all.begin(), all.end(), name) == all.end())
      throw util::bad_request("tool_choice names a function not in tools: \"" + name + "\"");
    job.forced_tools = {name};
  } else {
    throw util::bad_request("invalid tool_choice: " + choice.dump() +
                            " (must be \"auto\", \"none\", \"required\" or a function)");
  }
  if (!job.req.format.empty())
    throw util::bad_request("tool_choice cannot be combined with format");
}

namespace {

// The parameters schema of each tool named in `names`, by name.
std::vector<std::pair<std::string, ojson>> forced_params(const ojson& tools,
                                                         const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, ojson>> out;
  for (const auto& t : tools) {
    const std::string name = function_name(t);
    if (name.empty() || std::find(names.begin(), names.end(), name) == names.end()) continue;
    const ojson& f = t["function"];
    out.emplace_back(name, f.contains("parameters") && f["parameters"].is_object()
                               ? f["parameters"]
                               : ojson{{"type", "object"}});
  }
  return out;
}

// The format of one forced call: {"name": N, "arguments": N's parameters}, any of `names`.
std::string forced_call_format(const ojson& tools, const std::vector<std::string>& names) {
  ojson any = ojson::array();
  for (const auto& [name, params] : forced_params(tools, names)) {
    ojson call = {{"type", "object"},
                  {"properties", {{"name", {{"const", name}}}, {"arguments", params}}},
                  {"required", {"name", "arguments"}}};
    any.push_back(call);
  }
  if (any.size() == 1) return any[0].dump();
  return ojson{{"anyOf", any}}.dump();
}

}  // namespace

void setup_parsers(GenJob& job, const GenModel& m, const prompt::Template& tmpl,
                   const prompt::Think& think, const ojson& tools, const prompt::Message* last) {
  if (m.harmony_parse) {
    // gpt-oss parses with or without `think`: it cannot be told not to reason (§11.3). A
    // format constrains the final channel only.
    if (!job.req.format.empty()) job.req.format_after = "<|channel|>final<|message|>";
    if (!job.forced_tools.empty()) {
      // A forced call: an optional analysis message, then a commentary message to one of
      // the functions with JSON arguments fitting its parameters (harmony's own syntax).
      engine::sample::FormatSpec spec;
      spec.lead_open = "<|channel|>analysis<|message|>";
      spec.lead_close = "<|end|><|start|>assistant";
      for (const auto& [name, params] : forced_params(tools, job.forced_tools)) {
        const std::string prompt_name = job.harmony_names.prompt_name(name);
        spec.branches.push_back(
            {"<|channel|>commentary to=functions." + prompt_name + " <|constrain|>json<|message|>",
             params.dump()});
      }
      job.req.format = spec;
    }
    job.parser = std::make_unique<prompt::HarmonyParser>(job.harmony_names, last);
    job.req.preserved_tokens = {"<|start|>", "<|end|>", "<|message|>", "<|channel|>",
                                "<|constrain|>"};
    return;
  }
  prompt::ThinkingTags tags;
  bool prefilled = false;
  if (think.enabled) {
    tags = prompt::infer_thinking_tags(tmpl);
    std::string_view p = job.req.prompt;
    while (!p.empty() && std::isspace(static_cast<unsigned char>(p.back()))) p.remove_suffix(1);
    prefilled = !tags.open.empty() && p.size() >= tags.open.size() &&
                p.substr(p.size() - tags.open.size()) == tags.open;
  }
  std::string tool_tag;
  std::vector<std::string> tool_names;
  if (tools.is_array() && !tools.empty()) {
    tool_tag = prompt::infer_tool_tag(tmpl);
    if (tool_tag.empty()) tool_tag = "{";
    tool_names = function_names(tools);
  }
  if (!job.forced_tools.empty()) {  // the answer is a call, in the template's own syntax
    job.req.format.branches = {
        {tool_tag == "{" ? "" : tool_tag, forced_call_format(tools, job.forced_tools)}};
  }
  // A format constrains the answer, not the thinking before it.
  if (!job.req.format.empty() && think.enabled) job.req.format_after = tags.close;
  job.parser = prompt::make_template_parser(tags, prefilled, tool_tag, tool_names);
}

}  // namespace server
