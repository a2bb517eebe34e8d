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
#include <string>
#include <string_view>
#include <vector>

#include "engine/sample/grammar.h"

namespace engine::sample {

// What the output must be: one of `branches` (literal text, e.g. a tool-call tag or a harmony
// call header, then optional whitespace unless the prefix is empty, then a value of the
// branch's format), optionally after a free-text section: lead_open, text without "<|", then
// lead_close (a harmony analysis message before the call).
struct FormatSpec {
  struct Branch {
    std::string prefix;
    std::string format;  // "json" or a JSON schema as text
  };
  std::vector<Branch> branches;
  std::string lead_open, lead_close;

  bool empty() const { return branches.empty(); }
  std::string key() const;  // equal for equal specs (the runner's cache key)
  static FormatSpec of(std::string format) { return FormatSpec{{{"", std::move(format)}}, "", ""}; }
};

// Throws util::Error (400) naming the problem for a format it cannot compile.
std::shared_ptr<const Grammar> compile_format(const FormatSpec& spec);
// One format ("json" or a schema as JSON text) as the API gives it, with an optional prefix.
std::shared_ptr<const Grammar> compile_format(std::string_view format,
                                              std::string_view prefix = {});

}  // namespace engine::sample
