// Go text/template engine: parse once, execute many times over JSON data (Ollama semantics).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "prompt/template_ast.h"
#include "util/error.h"

namespace prompt {

// Parse or execution error; `template: <name>:<line>: ...` style message, HTTP 400.
class TemplateError : public util::Error {
 public:
  explicit TemplateError(std::string m) : util::Error(std::move(m), util::ErrorKind::kBadRequest) {}
};

// Bounds on one parse and one execution (templates are user input). Go stops at a depth limit
// too; these are far above what any real chat template needs.
inline constexpr int kMaxTemplateNesting = 1000;          // nested blocks/parentheses at parse
inline constexpr int kMaxTemplateDepth = 1000;            // nested {{template}} calls at execution
inline constexpr uint64_t kMaxTemplateSteps = 5'000'000;  // nodes + range iterations
inline constexpr size_t kMaxTemplateOutput = size_t{128} << 20;  // rendered bytes, and any value

class Template {
 public:
  // Parses `text`. Throws TemplateError on a syntax error or nesting beyond
  // kMaxTemplateNesting.
  static Template parse(std::string_view text, std::string name = "template");

  // Executes with `data` as dot (missingkey=zero: a missing key is the zero value). Throws
  // TemplateError when a bound above is passed.
  // Struct-like data uses capitalised keys (`.Messages`, `.Role`, ...).
  std::string execute(const Json& data) const;

  // True if any field or variable identifier equals `ident`, compared case-insensitively
  // (Ollama's check for `.Messages` / `.Response` / `.Tools` / `.Suffix`).
  bool references(std::string_view ident) const;

  // A copy cut after the first action that prints field `ident` (e.g. "Response"): that action
  // is kept, every later node is dropped, enclosing blocks are kept (legacy last-turn render).
  Template truncated_at(std::string_view ident) const;

  const NodeList& root() const { return *root_; }
  const std::string& source() const { return source_; }

 private:
  std::string name_;
  std::string source_;
  std::shared_ptr<NodeList> root_;
  std::shared_ptr<std::map<std::string, NodeList>> defines_;
  friend class Parser;
};

}  // namespace prompt
