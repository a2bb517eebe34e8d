// Model name parsing (right to left, §8.1), validation and display forms.
#include "store/name.h"

#include <cctype>

namespace store {
namespace {

enum class PartKind { kHost, kNamespace, kModel, kTag };

// Splits s at the last `sep`. When the separator is present, an empty side becomes the
// "!MISSING!" placeholder so the name is invalid rather than silently defaulted.
bool cut_last_promised(std::string_view s, char sep, std::string_view* before, std::string* after) {
  size_t i = s.rfind(sep);
  if (i == std::string_view::npos) return false;
  std::string_view b = s.substr(0, i), a = s.substr(i + 1);
  *before = b.empty() ? std::string_view(kMissingPart) : b;
  *after = a.empty() ? std::string(kMissingPart) : std::string(a);
  return true;
}

bool is_alnum_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_valid_part(PartKind kind, const std::string& s) {
  size_t max_len = kind == PartKind::kHost ? 350 : 80;
  if (s.empty() || s.size() > max_len) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 0) {
      if (!is_alnum_underscore(c)) return false;
      continue;
    }
    switch (c) {
      case '_':
      case '-':
        break;
      case '.':
        if (kind == PartKind::kNamespace) return false;
        break;
      case ':':
        if (kind != PartKind::kHost) return false;
        break;
      default:
        if (!is_alnum_underscore(c)) return false;
    }
  }
  return true;
}

}  // namespace

bool equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

ModelName ModelName::parse_bare(std::string_view s) {
  ModelName n;
  // '/' cannot appear in a tag, so a ':' after the last '/' starts the tag; an earlier ':'
  // belongs to a host port.
  size_t last_colon = s.rfind(':');
  size_t last_slash = s.rfind('/');
  if (last_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || last_colon > last_slash)) {
    std::string_view before;
    cut_last_promised(s, ':', &before, &n.tag);
    s = before;
  }
  std::string_view rest;
  if (!cut_last_promised(s, '/', &rest, &n.model)) {
    n.model = std::string(s);
    return n;
  }
  s = rest;
  if (!cut_last_promised(s, '/', &rest, &n.name_space)) {
    n.name_space = std::string(s);
    return n;
  }
  s = rest;
  size_t scheme_end = s.find("://");
  if (scheme_end != std::string_view::npos) {
    n.scheme = std::string(s.substr(0, scheme_end));
    n.host = std::string(s.substr(scheme_end + 3));
  } else {
    n.host = std::string(s);
  }
  return n;
}

ModelName ModelName::parse(std::string_view s) {
  ModelName n = parse_bare(s);
  if (n.host.empty()) n.host = kDefaultHost;
  if (n.name_space.empty()) n.name_space = kDefaultNamespace;
  if (n.tag.empty()) n.tag = kDefaultTag;
  return n;
}

ModelName ModelName::from_filepath(std::string_view rel_path) {
  ModelName n;
  std::string parts[4];
  int count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= rel_path.size(); ++i) {
    if (i == rel_path.size() || rel_path[i] == '/' || rel_path[i] == '\\') {
      if (count == 4) return ModelName{};
      parts[count++] = std::string(rel_path.substr(start, i - start));
      start = i + 1;
    }
  }
  if (count != 4) return ModelName{};
  n.host = parts[0];
  n.name_space = parts[1];
  n.model = parts[2];
  n.tag = parts[3];
  return n;
}

bool ModelName::is_valid() const {
  return is_valid_part(PartKind::kHost, host) && is_valid_part(PartKind::kNamespace, name_space) &&
         is_valid_part(PartKind::kModel, model) && is_valid_part(PartKind::kTag, tag);
}

std::string ModelName::display_shortest() const {
  std::string out;
  if (!store::equal_fold(host, kDefaultHost)) {
    out = host + "/" + name_space + "/";
  } else if (!store::equal_fold(name_space, kDefaultNamespace)) {
    out = name_space + "/";
  }
  return out + model + ":" + tag;
}

std::string ModelName::display_long() const {
  return host + "/" + name_space + "/" + model + ":" + tag;
}

std::string ModelName::filepath() const {
  return host + "/" + name_space + "/" + model + "/" + tag;
}

bool ModelName::equal_fold(const ModelName& o) const {
  return store::equal_fold(host, o.host) && store::equal_fold(name_space, o.name_space) &&
         store::equal_fold(model, o.model) && store::equal_fold(tag, o.tag);
}

}  // namespace store
