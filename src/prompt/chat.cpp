#include "prompt/chat.h"

#include "prompt/template_funcs.h"

namespace prompt {
namespace {

// A Go struct's template view: Go field names for access, the API JSON for printing.
Json with_json(Json fields, const Json& api) {
  fields[kJsonKey] = go_json(api);
  return fields;
}

Json property_data(const Json& p, int depth);

// How deep tool parameter schemas get the Go-struct view (`.Type`, `.Properties`, ...).
// Below that the API JSON is kept as is: it prints the same, and giving every level the view
// serialized each level's whole subtree (cubic in the nesting of a hostile schema).
constexpr int kMaxPropertyViewDepth = 32;

Json properties_data(const Json& props, int depth) {
  if (!props.is_object()) return nullptr;
  Json out = Json::object();
  for (auto it = props.begin(); it != props.end(); ++it)
    out[it.key()] = property_data(it.value(), depth + 1);
  return with_json(std::move(out), props);
}

Json property_data(const Json& p, int depth) {
  if (!p.is_object() || depth > kMaxPropertyViewDepth) return p;
  Json f = Json::object();
  auto get = [&](const char* k) { return p.contains(k) ? p[k] : Json(nullptr); };
  Json type = get("type");
  if (type.is_array() && type.size() == 1) type = type[0];  // PropertyType prints one type bare
  f["Type"] = type;
  f["Items"] = get("items");
  f["Description"] = p.value("description", "");
  f["Enum"] = get("enum");
  Json any_of = Json::array();
  if (p.contains("anyOf") && p["anyOf"].is_array())
    for (auto& a : p["anyOf"]) any_of.push_back(property_data(a, depth + 1));
  f["AnyOf"] = any_of;
  f["Properties"] = properties_data(get("properties"), depth);
  f["Required"] = get("required");
  return with_json(std::move(f), p);
}

void count_images(const std::vector<Message>& msgs, int& n) {
  for (auto& m : msgs) n += static_cast<int>(m.images.size());
}

}  // namespace

std::vector<Message> collate_messages(const std::vector<Message>& msgs, std::string* system) {
  std::vector<Message> out;
  std::vector<std::string> systems;
  for (const auto& m : msgs) {
    if (m.role == "system") systems.push_back(m.content);
    if (!out.empty() && out.back().role == m.role && m.role != "tool") {
      out.back().content += "\n\n" + m.content;
      out.back().images.insert(out.back().images.end(), m.images.begin(), m.images.end());
      continue;
    }
    out.push_back(m);
  }
  system->clear();
  for (size_t i = 0; i < systems.size(); i++) *system += (i ? "\n\n" : "") + systems[i];
  return out;
}

namespace {

void add_think(Json& d, const Think& think) {
  d["Think"] = think.enabled;
  d["ThinkLevel"] = think.level;
  d["IsThinkSet"] = think.set;
}

}  // namespace

Template load_template(std::string_view text) {
  Template t = Template::parse(text);
  if (!t.references("Messages") && !t.references("Response")) {
    t = Template::parse(std::string(text) + "{{ .Response }}");
  }
  return t;
}

Json message_data(const Message& m) {
  Json calls = Json::array();
  for (const auto& c : m.tool_calls) {
    Json api_fn = {{"index", c.index}, {"name", c.name}, {"arguments", c.arguments}};
    Json fn = {
        {"Index", c.index}, {"Name", c.name}, {"Arguments", with_json(c.arguments, c.arguments)}};
    Json api = Json::object();
    if (!c.id.empty()) api["id"] = c.id;
    api["function"] = api_fn;
    calls.push_back(with_json({{"ID", c.id}, {"Function", with_json(fn, api_fn)}}, api));
  }
  Json images = Json::array();
  for (auto& im : m.images) images.push_back(im);
  return {{"Role", m.role},
          {"Content", m.content},
          {"Thinking", m.thinking},
          {"Images", images},
          {"ToolCalls", calls},
          {"ToolName", m.tool_name},
          {"ToolCallID", m.tool_call_id}};
}

Json tools_data(const Json& tools) {
  Json out = Json::array();
  if (!tools.is_array()) return out;
  for (const auto& t : tools) {
    const Json fn = t.value("function", Json::object());
    const Json params = fn.value("parameters", Json::object());
    Json p = {{"Type", params.value("type", "")},
              {"Defs", params.contains("$defs") ? params["$defs"] : Json(nullptr)},
              {"Items", params.contains("items") ? params["items"] : Json(nullptr)},
              {"Required", params.contains("required") ? params["required"] : Json::array()},
              {"Properties", properties_data(params.value("properties", Json::object()), 0)}};
    Json f = {{"Name", fn.value("name", "")},
              {"Description", fn.value("description", "")},
              {"Parameters", with_json(p, params)}};
    Json tool = {{"Type", t.value("type", "function")},
                 {"Items", t.contains("items") ? t["items"] : Json(nullptr)},
                 {"Function", with_json(f, fn)}};
    out.push_back(with_json(tool, t));
  }
  return out;
}

std::string render(const Template& tmpl, const std::vector<Message>& messages, const Json& tools,
                   const Think& think) {
  if (tmpl.references("Messages")) {
    std::string system;
    std::vector<Message> collated = collate_messages(messages, &system);
    Json msgs = Json::array();
    for (const auto& m : collated) msgs.push_back(message_data(m));
    Json d = {{"System", system},
              {"Messages", msgs},
              {"Tools", tools_data(tools)},
              {"Response", ""},
              {"Prompt", ""}};
    add_think(d, think);
    return tmpl.execute(d);
  }
  // Legacy: one template execution per turn; the last one is cut after `.Response`.
  std::string out, system, prompt, response;
  auto values = [&] {
    Json d = {{"System", system}, {"Prompt", prompt}, {"Response", response}};
    add_think(d, think);
    return d;
  };
  for (const auto& m : messages) {
    auto flush = [&] {
      out += tmpl.execute(values());
      system.clear();
      prompt.clear();
      response.clear();
    };
    if (m.role == "system") {
      if (!prompt.empty() || !response.empty()) flush();
      system = m.content;
    } else if (m.role == "user") {
      if (!response.empty()) flush();
      prompt = m.content;
    } else if (m.role == "assistant") {
      response = m.content;
    }
  }
  out += tmpl.truncated_at("Response").execute(values());
  return out;
}

std::string render_truncated(const Template& tmpl, const std::vector<Message>& messages,
                             const Json& tools, const Think& think, int num_ctx, bool truncate,
                             const std::function<int(const std::string&)>& count_tokens,
                             int image_tokens) {
  RenderFn fn = [&](const std::vector<Message>& msgs) { return render(tmpl, msgs, tools, think); };
  return render_truncated(fn, messages, num_ctx, truncate, count_tokens, image_tokens);
}

std::string render_truncated(const RenderFn& render_fn, const std::vector<Message>& messages,
                             int num_ctx, bool truncate,
                             const std::function<int(const std::string&)>& count_tokens,
                             int image_tokens) {
  // Drop the oldest messages (system messages stay) until the rest fits. Tokens only shrink
  // as messages are dropped, so the first start that fits is found by bisection: log2(n)
  // renders instead of n (a long history must not cost n^2).
  std::string whole;  // the full rendering, when it was counted
  auto fits = [&](size_t i) {
    std::vector<Message> trial;
    for (size_t j = 0; j < i; j++)
      if (messages[j].role == "system") trial.push_back(messages[j]);
    trial.insert(trial.end(), messages.begin() + static_cast<long>(i), messages.end());
    std::string text = render_fn(trial);
    int n = count_tokens(text);
    if (i == 0) whole = std::move(text);
    int images = 0;
    count_images(trial, images);
    return n + images * image_tokens <= num_ctx;
  };
  size_t start = 0;
  if (truncate && !messages.empty() && !fits(0)) {
    size_t lo = 1, hi = messages.size() - 1;  // the last message is always kept
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (fits(mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    start = std::min(lo, messages.size() - 1);
  } else if (truncate && !messages.empty()) {
    return whole;  // it fit whole: rendered once
  }
  std::vector<Message> final_msgs;
  for (size_t j = 0; j < start; j++)
    if (messages[j].role == "system") final_msgs.push_back(messages[j]);
  final_msgs.insert(final_msgs.end(), messages.begin() + static_cast<long>(start), messages.end());
  return render_fn(final_msgs);
}

}  // namespace prompt
