// Modelfile text: parser (parser/parser.go semantics, §6.1) and serializer (show --modelfile).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace create {

// One instruction. name is lower-case: "model" (FROM), "license", "template", "system",
// "adapter", "draft", "renderer", "parser", "requires", "message" (args "role: content"), or
// a parameter name (PARAMETER <name> <value>: name as written, args = value).
struct ModelfileCommand {
  std::string name;
  std::string args;

  // One line as Ollama prints it: "FROM x", "SYSTEM <quoted>", "MESSAGE user <quoted>",
  // "PARAMETER stop <quoted>".
  std::string to_string() const;
  bool operator==(const ModelfileCommand&) const = default;
};

struct Modelfile {
  std::vector<ModelfileCommand> commands;

  // Every command's to_string() followed by "\n".
  std::string to_string() const;
};

// Parses Modelfile text (UTF-8 with optional BOM; UTF-16 with BOM is decoded). Throws
// util::bad_request with Ollama's texts:
//   (line N): command must be one of "from", "license", "template", "system", "adapter",
//             "draft", "renderer", "parser", "parameter", "message", or "requires"
//   (line N): message role must be one of "system", "user", or "assistant"
//   unexpected EOF            (unterminated quote / instruction at end of file)
//   unexpected EOF: <text>    (bad character in a PARAMETER / MESSAGE name)
//   no FROM line
Modelfile parse_modelfile(std::string_view text);

// Quoting rule of the serializer: a value containing "\n" or with a leading/trailing space is
// wrapped in """...""" if it contains '"', else in "..."; otherwise returned unchanged.
std::string quote_modelfile_value(std::string_view s);

// The non-file parts of a create request built from a Modelfile (Modelfile.CreateRequest):
// the CLI resolves `model_args` / `adapter_args` / `draft_args` to paths or a model name.
struct ModelfileRequestParts {
  std::vector<std::string> model_args;    // each FROM argument, in order
  std::vector<std::string> adapter_args;  // each ADAPTER argument
  std::vector<std::string> draft_args;    // each DRAFT argument
  std::string template_text, system, renderer, parser, requires_version;
  std::vector<std::string> licenses;
  nlohmann::json parameters = nlohmann::json::object();  // typed; stop accumulates
  nlohmann::json messages = nlohmann::json::array();     // [{"role","content"}]
  std::vector<std::string> warnings;  // "warning: parameter mirostat is deprecated"
};
// Throws util::bad_request: unknown parameter / invalid value texts (see parameters.h),
// "requires must be a valid semver (e.g. 0.14.0)".
ModelfileRequestParts modelfile_request_parts(const Modelfile& mf);

// semver.IsValid after adding a missing leading "v" (0.14.0, v1.2, 1.0.0-rc1+build).
bool is_valid_semver(std::string_view v);

}  // namespace create
