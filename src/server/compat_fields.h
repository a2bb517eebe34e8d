// Reading request fields of the compatible APIs (Anthropic, OpenAI Responses) with one kind of
// error: `<key>: expected <kind>, got <kind>` (400). Absent and null fields read as nullptr.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace server::compat {

using ojson = nlohmann::ordered_json;

const ojson* string_field(const ojson& obj, const char* key);
const ojson* number_field(const ojson& obj, const char* key);
const ojson* integer_field(const ojson& obj, const char* key);
const ojson* bool_field(const ojson& obj, const char* key);
const ojson* array_field(const ojson& obj, const char* key);
const ojson* object_field(const ojson& obj, const char* key);
// The string field's text; "" when absent or null.
std::string text_of(const ojson& obj, const char* key);

// A compatible API's tool list -> native function tools ({"type":"function","function":
// {name, description?, parameters}}). Tools whose "type" is not `type` (a missing type counts
// as `type` when `type_optional`) are the API's hosted kinds: left out, with a log line naming
// `route`. The schema is read from `schema_key` ({"type":"object"} when absent).
ojson function_tools(const ojson& tools, const char* type, bool type_optional,
                     const char* schema_key, const char* route);

}  // namespace server::compat
