// Constrained decoding, part 2: `format` values compiled to grammars (grammar.h).
//
// "json" (and OpenAI's json_object) is any JSON object. A JSON Schema compiles keyword by
// keyword: object (properties in the schema's order, required ones present, optional ones
// skippable; additionalProperties allowed only when true or a schema), array (items,
// prefixItems, minItems/maxItems), string (minLength/maxLength, pattern as a whole-string
// regex of the common subset, format date/time/date-time/uuid/email), integer (minimum,
// maximum, exclusive bounds: exact digit ranges), number (bounds kept by a safe subset: the
// integer part in range and a fraction only where any fraction stays inside), boolean, null,
// enum, const, anyOf/oneOf, allOf of objects, $ref to #/$defs|definitions (recursion too),
// type arrays and nullable. Other keywords are ignored, as Ollama does. Output is compact
// JSON with at most one newline plus indentation between tokens (no endless whitespace), a
// little leading whitespace, and nothing after the value.
#pragma once
#include <memory>
#include <string_view>

#include "engine/sample/grammar.h"

namespace engine::sample {

// `format` as the API gives it: the string "json", or a schema as JSON text. Throws
// util::Error (400) naming the problem for a schema it cannot compile.
// `prefix`, when given, is literal text the output starts with (then optional whitespace),
// e.g. a template's tool-call tag before the call's JSON.
std::shared_ptr<const Grammar> compile_format(std::string_view format, std::string_view prefix = {});

}  // namespace engine::sample
