#include "util/json.h"

namespace util {

int json_nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        i++;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return limit + 1;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) depth--;
        break;
      default:
        break;
    }
  }
  return deepest;
}

size_t json_value_count(std::string_view text) {
  size_t values = 1;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == ',' || c == '[' || c == '{')
      values++;
  }
  return values;
}

void check_json_depth(std::string_view text) {
  if (json_nesting_depth(text) > kMaxJsonDepth)
    throw Error("exceeded max depth", util::ErrorKind::kBadRequest);
}

}  // namespace util
