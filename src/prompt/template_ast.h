// Syntax tree of a parsed Go text/template (the dialect Ollama's TEMPLATE layers use).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace prompt {

using Json = nlohmann::ordered_json;

struct Pipeline;

// One operand of a command: a literal, `.`, `.A.B`, `$x.A`, a function name, or `( pipe ).A`.
struct Arg {
  enum class Kind { kLiteral, kDot, kField, kVariable, kIdentifier, kPipe } kind = Kind::kLiteral;
  Json literal;                     // kLiteral (string, number, bool, null)
  std::string name;                 // kVariable ("$" or "$x") or kIdentifier (function name)
  std::vector<std::string> fields;  // trailing field chain (kField, kVariable, kPipe)
  std::shared_ptr<Pipeline> pipe;   // kPipe
};

struct Command {
  std::vector<Arg> args;
};

struct Pipeline {
  std::vector<std::string> decls;  // variables declared/assigned by `$x := ...` / `$i, $v := ...`
  bool is_assign = false;          // `=` rather than `:=`
  std::vector<Command> commands;
};

struct Node;
using NodeList = std::vector<std::shared_ptr<Node>>;

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kTemplate, kBreak, kContinue } kind;
  std::string text;       // kText; kTemplate: the template name
  Pipeline pipe;          // kAction/kIf/kRange/kWith; kTemplate (may be empty)
  bool has_pipe = false;  // kTemplate: whether a pipeline argument was given
  NodeList list;          // body
  NodeList else_list;     // else branch (`else if` nests an kIf node here)
};

}  // namespace prompt
