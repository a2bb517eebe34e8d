#include "prompt/parsers.h"

#include <algorithm>
#include <optional>

#include "util/json.h"
#include "util/random_id.h"

namespace prompt {
namespace {

std::string trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

bool pipe_mentions(const Pipeline& p, std::string_view field) {
  for (const auto& c : p.commands)
    for (const auto& a : c.args) {
      for (const auto& f : a.fields)
        if (f == field) return true;
      if (a.pipe && pipe_mentions(*a.pipe, field)) return true;
    }
  return false;
}

// Finds the list that directly holds an action printing .Thinking, inside a range over
// .Messages.
const NodeList* find_thinking_list(const NodeList& list, bool in_messages) {
  for (const auto& n : list) {
    if (in_messages && n->kind == Node::Kind::kAction && pipe_mentions(n->pipe, "Thinking"))
      return &list;
    bool inner =
        in_messages || (n->kind == Node::Kind::kRange && pipe_mentions(n->pipe, "Messages"));
    if (const NodeList* l = find_thinking_list(n->list, inner)) return l;
    if (const NodeList* l = find_thinking_list(n->else_list, inner)) return l;
  }
  return nullptr;
}

const Node* find_tool_calls_if(const NodeList& list) {
  for (const auto& n : list) {
    if (n->kind == Node::Kind::kIf && pipe_mentions(n->pipe, "ToolCalls")) return n.get();
    if (const Node* f = find_tool_calls_if(n->list)) return f;
    if (const Node* f = find_tool_calls_if(n->else_list)) return f;
  }
  return nullptr;
}

// First non-blank text inside `list` before any action (descending into blocks); "" if none.
bool first_text(const NodeList& list, std::string* out) {
  for (const auto& n : list) {
    if (n->kind == Node::Kind::kText) {
      std::string t = trim(n->text);
      if (!t.empty()) {
        *out = t;
        return true;
      }
    } else if (n->kind == Node::Kind::kAction || n->kind == Node::Kind::kTemplate) {
      return true;
    } else if (first_text(n->list, out)) {
      return true;
    }
  }
  return false;
}

// Length of the longest suffix of `buf` that is a proper prefix of `tag`.
size_t partial_suffix(std::string_view buf, std::string_view tag) {
  for (size_t n = std::min(buf.size(), tag.size() - 1); n > 0; n--)
    if (buf.substr(buf.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

// End (exclusive) of the balanced JSON value starting at buf[start] ('{' or '['), or npos.
size_t json_end(std::string_view buf, size_t start) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t i = start; i < buf.size(); i++) {
    char c = buf[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"')
      in_str = true;
    else if (c == '{' || c == '[')
      depth++;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// Arguments per §11.2: arguments/parameters of an object with "name"; a key equal to the tool
// name; nested values; else the whole object.
bool find_arguments(const Json& v, const std::string& name, Json* args) {
  if (v.is_object()) {
    if (v.contains("name")) {
      for (const char* k : {"arguments", "parameters"}) {
        if (!v.contains(k)) continue;
        const Json& a = v[k];
        if (a.is_object()) {
          *args = a;
          return true;
        }
        if (a.is_string()) {
          Json parsed = util::parse_json_or_discarded<Json>(a.get<std::string>());
          if (parsed.is_object()) {
            *args = parsed;
            return true;
          }
        }
      }
    }
    if (v.contains(name) && v[name].is_object()) {
      *args = v[name];
      return true;
    }
    for (auto it = v.begin(); it != v.end(); ++it)
      if ((it->is_object() || it->is_array()) && find_arguments(*it, name, args)) return true;
  } else if (v.is_array()) {
    for (const auto& e : v)
      if (find_arguments(e, name, args)) return true;
  }
  return false;
}

}  // namespace

ThinkingTags infer_thinking_tags(const Template& t) {
  ThinkingTags tags;
  const NodeList* l = find_thinking_list(t.root(), false);
  if (!l) return tags;
  std::string first, last;
  for (const auto& n : *l) {
    if (n->kind != Node::Kind::kText) continue;
    if (first.empty()) first = trim(n->text);
    last = trim(n->text);
  }
  if (!first.empty() && !last.empty() && first != last) {
    tags.open = first;
    tags.close = last;
  }
  return tags;
}

std::string infer_tool_tag(const Template& t) {
  const Node* n = find_tool_calls_if(t.root());
  if (!n) return "";
  std::string text;
  first_text(n->list, &text);
  text = trim(text.substr(0, text.find('{')));
  return text.empty() ? "{" : text;
}

std::vector<std::string> template_capabilities(const Template& t) {
  std::vector<std::string> caps;
  if (t.references("Tools")) caps.push_back("tools");
  if (t.references("Suffix")) caps.push_back("insert");
  if (!infer_thinking_tags(t).open.empty()) caps.push_back("thinking");
  return caps;
}

ThinkingParser::ThinkingParser(std::string open, std::string close, bool in_thinking)
    : state_(in_thinking ? State::kThinking : State::kLookingForOpen),
      open_(std::move(open)),
      close_(std::move(close)) {}

void ThinkingParser::add(std::string_view text, std::string* thinking, std::string* content) {
  buf_ += text;
  while (true) {
    switch (state_) {
      case State::kLookingForOpen: {
        size_t ws = buf_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) return;  // only whitespace so far
        std::string_view rest = std::string_view(buf_).substr(ws);
        if (rest.substr(0, open_.size()) == open_) {
          buf_.erase(0, ws + open_.size());
          state_ = State::kAfterOpen;
          continue;
        }
        if (open_.substr(0, rest.size()) == rest) return;  // could still become the tag
        state_ = State::kContent;
        continue;
      }
      case State::kAfterOpen: {
        size_t ws = buf_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) {
          buf_.clear();
          return;
        }
        buf_.erase(0, ws);
        state_ = State::kThinking;
        continue;
      }
      case State::kThinking: {
        if (size_t p = buf_.find(close_); p != std::string::npos) {
          *thinking += buf_.substr(0, p);
          buf_.erase(0, p + close_.size());
          state_ = State::kAfterClose;
          continue;
        }
        size_t hold = partial_suffix(buf_, close_);
        *thinking += buf_.substr(0, buf_.size() - hold);
        buf_.erase(0, buf_.size() - hold);
        return;
      }
      case State::kAfterClose: {
        size_t ws = buf_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) {
          buf_.clear();
          return;
        }
        buf_.erase(0, ws);
        state_ = State::kContent;
        continue;
      }
      case State::kContent:
        *content += buf_;
        buf_.clear();
        return;
    }
  }
}

void ThinkingParser::finish(std::string* thinking, std::string* content) {
  if (state_ == State::kThinking)
    *thinking += buf_;
  else if (state_ != State::kAfterClose && state_ != State::kAfterOpen)
    *content += buf_;
  buf_.clear();
}

ToolCallParser::ToolCallParser(std::string tag, std::vector<std::string> tool_names)
    : tag_(std::move(tag)), names_(std::move(tool_names)) {
  bracket_tag_ = tag_ == "{" || tag_ == "[";
  // Longest names first so "get_weather_now" wins over "get_weather".
  std::sort(names_.begin(), names_.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
}

bool ToolCallParser::try_parse_call(std::vector<ToolCall>* calls) {
  // Earliest tool name, longest at that position.
  size_t best = std::string::npos;
  std::string name;
  for (const auto& n : names_) {
    size_t p = buf_.find(n);
    if (p != std::string::npos && (p < best || (p == best && n.size() > name.size()))) {
      best = p;
      name = n;
    }
  }
  if (name.empty()) return false;
  size_t start = buf_.find_first_of("{[");
  while (start != std::string::npos) {
    size_t end = json_end(buf_, start);
    if (end == std::string::npos) return false;  // incomplete: wait for more
    Json v = util::parse_json_or_discarded<Json>(std::string_view(buf_).substr(start, end - start));
    if (!v.is_discarded()) {
      Json args = Json::object();
      if (!find_arguments(v, name, &args)) args = v.is_object() ? v : Json::object();
      ToolCall c;
      c.id = new_tool_call_id();
      c.index = index_++;
      c.name = name;
      c.arguments = args;
      calls->push_back(std::move(c));
      buf_.erase(0, end);
      return true;
    }
    start = buf_.find_first_of("{[", start + 1);
  }
  return false;
}

void ToolCallParser::add(std::string_view text, std::string* content,
                         std::vector<ToolCall>* calls) {
  buf_ += text;
  if (disabled_ || done_) {
    *content += buf_;
    buf_.clear();
    return;
  }
  if (bracket_tag_) {
    if (!decided_) {
      size_t ws = buf_.find_first_not_of(" \t\r\n");
      if (ws == std::string::npos) return;
      decided_ = true;
      if (buf_[ws] != '{' && buf_[ws] != '[') {
        disabled_ = true;
        *content += buf_;
        buf_.clear();
        return;
      }
      in_call_ = true;
    }
    while (try_parse_call(calls)) {
    }
    // Finished when the outer brackets balance: the rest is content.
    size_t ws = buf_.find_first_not_of(" \t\r\n,");
    if (!calls->empty() && ws != std::string::npos && buf_[ws] != '{' && buf_[ws] != '[') {
      if (buf_[ws] == ']') buf_.erase(0, ws + 1);
      done_ = true;
      *content += buf_;
      buf_.clear();
    }
    return;
  }
  while (true) {
    if (!in_call_) {
      size_t p = buf_.find(tag_);
      if (p == std::string::npos) {
        size_t hold = partial_suffix(buf_, tag_);
        *content += buf_.substr(0, buf_.size() - hold);
        buf_.erase(0, buf_.size() - hold);
        return;
      }
      *content += buf_.substr(0, p);
      buf_.erase(0, p + tag_.size());
      in_call_ = true;
    }
    if (!try_parse_call(calls)) return;
    in_call_ = false;
  }
}

void ToolCallParser::finish(std::string* content, std::vector<ToolCall>* calls) {
  if (!disabled_ && !done_ && in_call_) try_parse_call(calls);
  if (in_call_ && !bracket_tag_ && calls->empty()) *content += tag_;
  *content += buf_;
  buf_.clear();
}

namespace {

class TemplateParser : public OutputParser {
 public:
  TemplateParser(const ThinkingTags& tags, bool in_thinking, const std::string& tool_tag,
                 const std::vector<std::string>& tool_names) {
    if (!tags.open.empty()) thinking_.emplace(tags.open, tags.close, in_thinking);
    if (!tool_tag.empty()) tools_.emplace(tool_tag, tool_names);
  }
  void add(std::string_view text, ParsedOutput* out) override { step(&text, out); }
  void finish(ParsedOutput* out) override { step(nullptr, out); }

 private:
  // `text` null: end of generation.
  void step(const std::string_view* text, ParsedOutput* out) {
    std::string content;
    if (thinking_) {
      if (text)
        thinking_->add(*text, &out->thinking, &content);
      else
        thinking_->finish(&out->thinking, &content);
    } else if (text) {
      content = *text;
    }
    if (!tools_) {
      out->content += content;
      return;
    }
    if (!content.empty()) tools_->add(content, &out->content, &out->tool_calls);
    if (!text) tools_->finish(&out->content, &out->tool_calls);
  }

  std::optional<ThinkingParser> thinking_;
  std::optional<ToolCallParser> tools_;
};

}  // namespace

std::unique_ptr<OutputParser> make_template_parser(const ThinkingTags& tags, bool in_thinking,
                                                   const std::string& tool_tag,
                                                   const std::vector<std::string>& tool_names) {
  if (tags.open.empty() && tool_tag.empty()) return nullptr;
  return std::make_unique<TemplateParser>(tags, in_thinking, tool_tag, tool_names);
}

std::string new_tool_call_id() {
  return util::random_id("call_", 8, "abcdefghijklmnopqrstuvwxyz0123456789");
}

}  // namespace prompt
