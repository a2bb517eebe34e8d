// Go template built-ins (and, len, printf, eq, ...) plus Ollama's additions (json, currentDate,
// toTypeScriptType), and Go's truthiness and value-printing rules.
#pragma once
#include <string>
#include <vector>

#include "prompt/template_ast.h"

namespace prompt {

// Objects built from Go structs carry their JSON form under this key, so that printing them
// (`{{ .Tools }}`) gives the API's JSON while fields are read by Go names (`.Function.Name`).
// Ranging and len() skip it.
inline constexpr const char* kJsonKey = "__json__";

bool truthy(const Json& v);
// Go fmt %v rendering, with JSON for objects and object lists.
std::string print_value(const Json& v);
// Compact JSON as Go's json.Marshal writes it (<, >, & escaped).
std::string go_json(const Json& v);
// True for the names call_function knows (checked at parse time, as Go does).
bool is_function(const std::string& name);
// Calls a built-in on arguments passed by reference; throws TemplateError for unknown names or
// bad arguments.
Json call_function(const std::string& name, const std::vector<const Json*>& args);

}  // namespace prompt
