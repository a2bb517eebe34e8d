// Capability detection for /api/show and the generate/chat checks (§7.5).
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "prompt/harmony.h"
#include "prompt/template.h"
#include "server/show.h"
#include "util/log.h"

namespace server {
namespace {

using prompt::Arg;
using prompt::Node;
using prompt::NodeList;
using prompt::Pipeline;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool pipe_has_field(const Pipeline& p, const std::string& field) {
  for (const auto& cmd : p.commands) {
    for (const auto& a : cmd.args) {
      if (a.kind == Arg::Kind::kField)
        for (const auto& f : a.fields)
          if (f == field) return true;
      if (a.kind == Arg::Kind::kPipe && a.pipe && pipe_has_field(*a.pipe, field)) return true;
    }
  }
  return false;
}

// Walks the tree as Go's parse walker does (a node's pipeline, then its list, then its else
// list), remembering the enclosing lists and ranges. At every `.Thinking` field inside a
// range over .Messages, the nearest enclosing list's first / last text nodes are the tags;
// later matches overwrite earlier ones, as upstream.
struct TagFinder {
  std::vector<const NodeList*> lists;
  std::vector<const Node*> ranges;
  std::string open, close;

  void list(const NodeList& l) {
    lists.push_back(&l);
    for (const auto& n : l) node(*n);
    lists.pop_back();
  }
  void node(const Node& n) {
    bool is_range = n.kind == Node::Kind::kRange;
    if (is_range) ranges.push_back(&n);
    pipe(n.pipe);
    if (!n.list.empty()) list(n.list);
    if (!n.else_list.empty()) list(n.else_list);
    if (is_range) ranges.pop_back();
  }
  void pipe(const Pipeline& p) {
    for (const auto& cmd : p.commands) {
      for (const auto& a : cmd.args) {
        if (a.kind == Arg::Kind::kField && !a.fields.empty() && a.fields[0] == "Thinking") hit();
        if (a.kind == Arg::Kind::kPipe && a.pipe) pipe(*a.pipe);
      }
    }
  }
  void hit() {
    if (ranges.empty() || !pipe_has_field(ranges.back()->pipe, "Messages")) return;
    if (lists.empty() || lists.back()->empty()) return;
    const NodeList& l = *lists.back();
    if (l.front()->kind == Node::Kind::kText) open = trim(l.front()->text);
    if (l.back()->kind == Node::Kind::kText) close = trim(l.back()->text);
  }
};

}  // namespace

std::pair<std::string, std::string> infer_thinking_tags(std::string_view template_text) {
  try {
    auto t = prompt::Template::parse(template_text);
    TagFinder f;
    f.list(t.root());
    return {f.open, f.close};
  } catch (const std::exception&) {
    return {};
  }
}

HarmonyUse harmony_use(const store::Model& m, const engine::ModelCard* card) {
  HarmonyUse h;
  std::string family = m.config.model_family;
  if (family.empty() && card) family = card->arch;
  if (prompt::is_harmony_family(family))
    h.render = m.has_template_layer ? prompt::is_harmony_template(m.template_text) : true;
  if (m.config.renderer == "harmony") h.render = true;
  h.parse = h.render || m.config.parser == "harmony";
  return h;
}

std::vector<std::string> model_capabilities(const store::Model& m, const engine::ModelCard* card) {
  std::vector<std::string> caps;
  auto add = [&](const std::string& c) {
    for (const auto& x : caps)
      if (x == c) return;
    caps.push_back(c);
  };
  for (const auto& c : m.config.capabilities) add(c);
  if (card)
    for (const auto& c : card->capabilities()) add(c);
  bool tools = false, insert = false;
  try {
    auto t = prompt::Template::parse(m.template_text);
    tools = t.references("Tools");
    insert = t.references("Suffix");
  } catch (const std::exception& e) {
    LOG_DEBUG("template of {} does not parse: {}", m.short_name, e.what());
  }
  const bool harmony = harmony_use(m, card).parse;  // the parser takes tools and thinking
  if (tools || harmony) add("tools");
  if (insert) add("insert");
  if (!m.projector_paths.empty()) add("vision");
  auto [open, close] = infer_thinking_tags(m.template_text);
  bool thinking = !open.empty() && !close.empty();
  if (thinking || harmony || prompt::is_harmony_family(m.config.model_family)) add("thinking");
  return caps;
}

}  // namespace server
