// Modelfile parser: a rune-at-a-time state machine with the same transitions, line counting
// and error texts as Ollama's parser, so every Modelfile parses (or fails) identically.
#include "create/modelfile.h"

#include <cstdint>

#include "util/error.h"

namespace create {
namespace {

enum class State { kNil, kName, kValue, kParameter, kMessage, kComment };

constexpr char kInvalidCommand[] =
    "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", "
    "\"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"";
constexpr char kInvalidRole[] =
    "message role must be one of \"system\", \"user\", or \"assistant\"";

bool is_alpha(char32_t r) { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool is_digit(char32_t r) { return r >= '0' && r <= '9'; }
bool is_space(char32_t r) { return r == ' ' || r == '\t'; }
bool is_newline(char32_t r) { return r == '\r' || r == '\n'; }

// Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
// Approximated by excluding controls, format characters, non-ASCII spaces and private use.
bool is_print(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r >= 0x80 && r <= 0xA0) return false;
  if (r == 0xAD || r == 0x1680 || r == 0x061C || r == 0x180E) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF)
    return false;
  if ((r >= 0xD800 && r <= 0xF8FF) || (r >= 0xFFF9 && r <= 0xFFFB)) return false;
  if (r >= 0xF0000 || (r >= 0xE0000 && r <= 0xE007F)) return false;
  return true;
}

void append_utf8(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// Decodes the text to code points: UTF-8 (BOM dropped, invalid bytes -> U+FFFD) or UTF-16
// when it starts with a UTF-16 BOM.
std::u32string decode(std::string_view s) {
  std::u32string out;
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (s.size() >= 2 && ((u8(0) == 0xFE && u8(1) == 0xFF) || (u8(0) == 0xFF && u8(1) == 0xFE))) {
    bool be = u8(0) == 0xFE;
    for (size_t i = 2; i + 1 < s.size(); i += 2) {
      char32_t u = be ? (u8(i) << 8 | u8(i + 1)) : (u8(i + 1) << 8 | u8(i));
      if (u >= 0xD800 && u <= 0xDBFF && i + 3 < s.size()) {
        char32_t lo = be ? (u8(i + 2) << 8 | u8(i + 3)) : (u8(i + 3) << 8 | u8(i + 2));
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          out += 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          i += 2;
          continue;
        }
      }
      out += (u >= 0xD800 && u <= 0xDFFF) ? 0xFFFD : u;
    }
    if (s.size() % 2) out += 0xFFFD;
    return out;
  }
  size_t i = 0;
  if (s.size() >= 3 && u8(0) == 0xEF && u8(1) == 0xBB && u8(2) == 0xBF) i = 3;
  while (i < s.size()) {
    uint8_t b = u8(i);
    size_t n = b < 0x80             ? 1
               : (b & 0xE0) == 0xC0 ? 2
               : (b & 0xF0) == 0xE0 ? 3
               : (b & 0xF8) == 0xF0 ? 4
                                    : 0;
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      if ((u8(i + k) & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (u8(i + k) & 0x3F);
    }
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
               cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (!ok) {
      out += 0xFFFD;
      ++i;
      continue;
    }
    out += cp;
    i += n;
  }
  return out;
}

std::string trim_space(const std::string& s) {
  auto ws = [](unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  size_t b = 0, e = s.size();
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// """x""" and "x" lose their quotes; an opening quote without its closer is not finished yet.
bool unquote(const std::string& s, std::string* out) {
  if (s.size() >= 3 && s.compare(0, 3, "\"\"\"") == 0) {
    if (s.size() >= 6 && s.compare(s.size() - 3, 3, "\"\"\"") == 0) {
      *out = s.substr(3, s.size() - 6);
      return true;
    }
    return false;
  }
  if (!s.empty() && s[0] == '"') {
    if (s.size() >= 2 && s.back() == '"') {
      *out = s.substr(1, s.size() - 2);
      return true;
    }
    return false;
  }
  *out = s;
  return true;
}

std::string to_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool is_valid_command(const std::string& cmd) {
  static const char* kCommands[] = {"from",      "license", "template", "system",
                                    "adapter",   "draft",   "renderer", "parser",
                                    "parameter", "message", "requires"};
  std::string l = to_lower(cmd);
  for (const char* c : kCommands)
    if (l == c) return true;
  return false;
}

util::Error line_error(int line, const char* msg) {
  return util::bad_request("(line " + std::to_string(line) + "): " + msg);
}

struct Transition {
  State next;
  char32_t rune;  // 0 = nothing to buffer
  enum { kOk, kInvalidCommand, kUnexpectedEof } err = kOk;
};

Transition step(char32_t r, State cs) {
  switch (cs) {
    case State::kNil:
      if (r == '#') return {State::kComment, 0};
      if (is_space(r) || is_newline(r)) return {State::kNil, 0};
      return {State::kName, r};
    case State::kName:
      if (is_alpha(r)) return {State::kName, r};
      if (is_space(r)) return {State::kValue, 0};
      return {State::kNil, 0, Transition::kInvalidCommand};
    case State::kValue:
      if (is_newline(r) || is_space(r)) return {State::kNil, r};
      return {State::kValue, r};
    case State::kParameter:
      if (is_alpha(r) || is_digit(r) || r == '_') return {State::kParameter, r};
      if (is_space(r)) return {State::kValue, 0};
      return {State::kNil, 0, Transition::kUnexpectedEof};
    case State::kMessage:
      if (is_alpha(r)) return {State::kMessage, r};
      if (is_space(r)) return {State::kValue, 0};
      return {State::kNil, 0, Transition::kUnexpectedEof};
    case State::kComment:
      if (is_newline(r)) return {State::kNil, 0};
      return {State::kComment, 0};
  }
  return {State::kNil, 0};
}

}  // namespace

Modelfile parse_modelfile(std::string_view text) {
  Modelfile f;
  ModelfileCommand cmd;
  State curr = State::kNil;
  int line = 1;
  std::string buf;
  std::string role;

  for (char32_t in : decode(text)) {
    // Counted before the rune is handled, so an error on a newline names the next line
    // (and "\r\n" counts twice), as upstream does.
    if (is_newline(in)) ++line;
    Transition t = step(in, curr);
    if (t.err == Transition::kUnexpectedEof) throw util::bad_request("unexpected EOF: " + buf);
    if (t.err == Transition::kInvalidCommand) throw line_error(line, kInvalidCommand);
    State next = t.next;
    char32_t r = t.rune;

    if (next != curr) {
      bool keep_value = false;
      switch (curr) {
        case State::kName: {
          if (!is_valid_command(buf)) throw line_error(line, kInvalidCommand);
          std::string s = to_lower(buf);
          if (s == "from") {
            cmd.name = "model";
          } else if (s == "parameter") {
            next = State::kParameter;  // the parameter name follows
          } else if (s == "message") {
            next = State::kMessage;  // the role follows
            cmd.name = s;
          } else {
            cmd.name = s;
          }
          break;
        }
        case State::kParameter:
          cmd.name = buf;
          break;
        case State::kMessage:
          if (buf != "system" && buf != "user" && buf != "assistant")
            throw line_error(line, kInvalidRole);
          role = buf;
          break;
        case State::kComment:
        case State::kNil:
          break;
        case State::kValue: {
          std::string s;
          if (!unquote(trim_space(buf), &s) || is_space(r)) {
            // Inside quotes, or a space within the value: keep reading.
            append_utf8(buf, r);
            keep_value = true;
            break;
          }
          if (!role.empty()) {
            s = role + ": " + s;
            role.clear();
          }
          cmd.args = s;
          f.commands.push_back(cmd);
          break;
        }
      }
      if (keep_value) continue;
      buf.clear();
      curr = next;
    }
    if (r != 0 && is_print(r)) append_utf8(buf, r);
  }

  switch (curr) {
    case State::kComment:
    case State::kNil:
      break;
    case State::kValue: {
      std::string s;
      if (!unquote(trim_space(buf), &s)) throw util::bad_request("unexpected EOF");
      if (!role.empty()) s = role + ": " + s;
      cmd.args = s;
      f.commands.push_back(cmd);
      break;
    }
    default:
      throw util::bad_request("unexpected EOF");
  }

  for (const auto& c : f.commands)
    if (c.name == "model") return f;
  throw util::bad_request("no FROM line");
}

std::string quote_modelfile_value(std::string_view s) {
  bool needs = s.find('\n') != std::string_view::npos || (!s.empty() && s.front() == ' ') ||
               (!s.empty() && s.back() == ' ');
  if (!needs) return std::string(s);
  if (s.find('"') != std::string_view::npos) return "\"\"\"" + std::string(s) + "\"\"\"";
  return "\"" + std::string(s) + "\"";
}

std::string ModelfileCommand::to_string() const {
  if (name == "model") return "FROM " + args;
  if (name == "license" || name == "template" || name == "system" || name == "adapter" ||
      name == "renderer" || name == "parser" || name == "requires" || name == "draft") {
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
    return upper + " " + quote_modelfile_value(args);
  }
  if (name == "message") {
    size_t sep = args.find(": ");
    std::string role = sep == std::string::npos ? args : args.substr(0, sep);
    std::string content = sep == std::string::npos ? "" : args.substr(sep + 2);
    return "MESSAGE " + role + " " + quote_modelfile_value(content);
  }
  return "PARAMETER " + name + " " + quote_modelfile_value(args);
}

std::string Modelfile::to_string() const {
  std::string out;
  for (const auto& c : commands) out += c.to_string() + "\n";
  return out;
}

}  // namespace create
