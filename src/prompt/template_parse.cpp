// Lexer and parser for Go text/template syntax.
#include <cctype>
#include <cstdlib>

#include "prompt/template.h"
#include "prompt/template_funcs.h"
#include "util/stack.h"

namespace prompt {
namespace {

struct Token {
  enum class Type {
    kText,
    kLeft,
    kRight,
    kIdent,
    kKeyword,
    kField,
    kVariable,
    kString,
    kNumber,
    kBool,
    kNil,
    kDot,
    kLParen,
    kRParen,
    kPipe,
    kDeclare,
    kAssign,
    kComma,
    kEof
  } type;
  std::string value;
  int line = 1;
  bool spaced = false;  // whitespace before it (`.A .B` are two operands, `.A.B` one chain)
};

bool is_keyword(const std::string& s) {
  return s == "if" || s == "else" || s == "end" || s == "range" || s == "with" || s == "define" ||
         s == "template" || s == "block" || s == "break" || s == "continue";
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  Lexer(std::string_view src, const std::string& name) : s_(src), name_(name) {}

  std::vector<Token> run() {
    while (pos_ < s_.size()) {
      size_t open = s_.find("{{", pos_);
      if (open == std::string_view::npos) {
        emit_text(s_.substr(pos_));
        pos_ = s_.size();
        break;
      }
      std::string_view text = s_.substr(pos_, open - pos_);
      size_t p = open + 2;
      bool trim_left = p + 1 < s_.size() && s_[p] == '-' && is_space(s_[p + 1]);
      if (trim_left) {
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
        p += 1;
      }
      emit_text(text);
      pos_ = p;
      lex_action();
    }
    out_.push_back({Token::Type::kEof, "", line_});
    return std::move(out_);
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

  [[noreturn]] void fail(const std::string& msg) {
    throw TemplateError("template: " + name_ + ":" + std::to_string(line_) + ": " + msg);
  }

  void emit_text(std::string_view t) {
    for (char c : t) line_ += c == '\n';
    if (!t.empty()) out_.push_back({Token::Type::kText, std::string(t), line_});
  }

  // True (and consumes) when the action closes here, handling ` -}}` trimming.
  bool at_close() {
    if (s_.compare(pos_, 2, "}}") == 0) {
      pos_ += 2;
      return true;
    }
    if (pos_ + 3 <= s_.size() && is_space(s_[pos_]) && s_.compare(pos_ + 1, 3, "-}}") == 0) {
      pos_ += 4;
      trim_right_ = true;
      return true;
    }
    return false;
  }

  void after_close() {
    if (trim_right_) {
      while (pos_ < s_.size() && is_space(s_[pos_])) line_ += s_[pos_++] == '\n';
      trim_right_ = false;
    }
  }

  void lex_action() {
    // Comment: {{/* ... */}}
    size_t q = pos_;
    while (q < s_.size() && is_space(s_[q])) q++;
    if (s_.compare(q, 2, "/*") == 0) {
      size_t end = s_.find("*/", q + 2);
      if (end == std::string_view::npos) fail("unclosed comment");
      for (size_t i = q; i < end; i++) line_ += s_[i] == '\n';
      pos_ = end + 2;
      if (!at_close()) {
        while (pos_ < s_.size() && is_space(s_[pos_])) pos_++;
        if (!at_close()) fail("comment ends before closing delimiter");
      }
      after_close();
      return;
    }
    out_.push_back({Token::Type::kLeft, "", line_});
    while (true) {
      if (pos_ >= s_.size()) fail("unclosed action");
      if (at_close()) {
        out_.push_back({Token::Type::kRight, "", line_});
        after_close();
        return;
      }
      char c = s_[pos_];
      if (is_space(c)) {
        line_ += c == '\n';
        pos_++;
        spaced_ = true;
        continue;
      } else if (c == '(') {
        push(Token::Type::kLParen, "(", 1);
      } else if (c == ')') {
        push(Token::Type::kRParen, ")", 1);
      } else if (c == '|') {
        push(Token::Type::kPipe, "|", 1);
      } else if (c == ',') {
        push(Token::Type::kComma, ",", 1);
      } else if (c == ':' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '=') {
        push(Token::Type::kDeclare, ":=", 2);
      } else if (c == '=') {
        push(Token::Type::kAssign, "=", 1);
      } else if (c == '"') {
        lex_quoted();
      } else if (c == '`') {
        size_t end = s_.find('`', pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated raw quoted string");
        std::string v(s_.substr(pos_ + 1, end - pos_ - 1));
        for (char ch : v) line_ += ch == '\n';
        out_.push_back({Token::Type::kString, v, line_, spaced_});
        spaced_ = false;
        pos_ = end + 1;
      } else if (c == '\'') {
        size_t end = s_.find('\'', pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated character constant");
        std::string v(s_.substr(pos_ + 1, end - pos_ - 1));
        out_.push_back(
            {Token::Type::kNumber, std::to_string(v.empty() ? 0 : (unsigned char)v[0]), line_});
        pos_ = end + 1;
      } else if (c == '$') {
        size_t e = pos_ + 1;
        while (e < s_.size() && ident_char(s_[e])) e++;
        push(Token::Type::kVariable, std::string(s_.substr(pos_, e - pos_)), e - pos_);
      } else if (c == '.') {
        if (pos_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
          lex_number();
        } else {
          size_t e = pos_ + 1;
          while (e < s_.size() && ident_char(s_[e])) e++;
          if (e == pos_ + 1)
            push(Token::Type::kDot, ".", 1);
          else
            push(Token::Type::kField, std::string(s_.substr(pos_ + 1, e - pos_ - 1)), e - pos_);
        }
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
        lex_number();
      } else if (ident_char(c)) {
        size_t e = pos_;
        while (e < s_.size() && ident_char(s_[e])) e++;
        std::string w(s_.substr(pos_, e - pos_));
        Token::Type t = is_keyword(w)                   ? Token::Type::kKeyword
                        : (w == "true" || w == "false") ? Token::Type::kBool
                        : w == "nil"                    ? Token::Type::kNil
                                                        : Token::Type::kIdent;
        push(t, w, e - pos_);
      } else {
        fail(std::string("unexpected \"") + c + "\" in command");
      }
    }
  }

  void push(Token::Type t, std::string v, size_t len) {
    out_.push_back({t, std::move(v), line_, spaced_});
    pos_ += len;
    spaced_ = false;
  }

  void lex_number() {
    size_t e = pos_;
    if (s_[e] == '-' || s_[e] == '+') e++;
    while (e < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '.' || s_[e] == '_' ||
            ((s_[e] == '-' || s_[e] == '+') && (s_[e - 1] == 'e' || s_[e - 1] == 'E'))))
      e++;
    if (e == pos_ + 1 && (s_[pos_] == '-' || s_[pos_] == '+')) fail("bad number syntax");
    push(Token::Type::kNumber, std::string(s_.substr(pos_, e - pos_)), e - pos_);
  }

  void lex_quoted() {
    std::string v;
    size_t i = pos_ + 1;
    for (;; i++) {
      if (i >= s_.size() || s_[i] == '\n') fail("unterminated quoted string");
      char c = s_[i];
      if (c == '"') break;
      if (c != '\\') {
        v += c;
        continue;
      }
      char n = i + 1 < s_.size() ? s_[++i] : '\0';
      switch (n) {
        case 'n':
          v += '\n';
          break;
        case 't':
          v += '\t';
          break;
        case 'r':
          v += '\r';
          break;
        case '\\':
          v += '\\';
          break;
        case '"':
          v += '"';
          break;
        case '\'':
          v += '\'';
          break;
        case 'x': {
          v +=
              static_cast<char>(std::strtol(std::string(s_.substr(i + 1, 2)).c_str(), nullptr, 16));
          i += 2;
          break;
        }
        case 'u': {
          long cp = std::strtol(std::string(s_.substr(i + 1, 4)).c_str(), nullptr, 16);
          i += 4;
          append_utf8(v, cp);
          break;
        }
        default:
          v += n;
      }
    }
    out_.push_back({Token::Type::kString, v, line_, spaced_});
    spaced_ = false;
    pos_ = i + 1;
  }

  static void append_utf8(std::string& out, long cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  bool trim_right_ = false;
  bool spaced_ = false;
  std::vector<Token> out_;
};

}  // namespace

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string name, std::map<std::string, NodeList>& defines)
      : t_(std::move(toks)), name_(std::move(name)), defines_(defines) {}

  NodeList parse_top() {
    std::string end_kw;
    NodeList l = parse_list(&end_kw, true);
    if (!end_kw.empty()) fail("unexpected {{" + end_kw + "}}");
    return l;
  }

 private:
  using T = Token::Type;

  [[noreturn]] void fail(const std::string& msg) {
    throw TemplateError("template: " + name_ + ":" + std::to_string(peek().line) + ": " + msg);
  }
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  Token next() { return t_[std::min(i_++, t_.size() - 1)]; }
  void expect(T type, const char* what) {
    if (peek().type != type) fail(std::string("expected ") + what);
    i_++;
  }

  // Parses nodes until EOF (top) or a {{end}} / {{else ...}}; the terminator keyword goes in
  // *end_kw ("end" or "else"); for else the tokens after `else` are left unconsumed.
  NodeList parse_list(std::string* end_kw, bool top) {
    NodeList out;
    while (true) {
      const Token& tk = peek();
      if (tk.type == T::kEof) {
        if (!top) fail("unexpected EOF");
        end_kw->clear();
        return out;
      }
      if (tk.type == T::kText) {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kText;
        n->text = next().value;
        out.push_back(n);
        continue;
      }
      expect(T::kLeft, "{{");
      if (peek().type == T::kKeyword) {
        std::string kw = next().value;
        if (kw == "end") {
          expect(T::kRight, "}}");
          *end_kw = "end";
          return out;
        }
        if (kw == "else") {
          *end_kw = "else";
          return out;
        }
        if (kw == "if" || kw == "range" || kw == "with") {
          out.push_back(parse_control(kw));
        } else if (kw == "define") {
          parse_define();
        } else if (kw == "template" || kw == "block") {
          out.push_back(parse_template(kw == "block"));
        } else if (kw == "break" || kw == "continue") {
          auto n = std::make_shared<Node>();
          n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
          expect(T::kRight, "}}");
          out.push_back(n);
        }
        continue;
      }
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kAction;
      n->pipe = parse_pipeline(true);
      expect(T::kRight, "}}");
      out.push_back(n);
    }
  }

  // Counts one level of nesting for the scope of a block, a define or a parenthesis.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.nesting_ > kMaxTemplateNesting)
        p.fail("nesting deeper than " + std::to_string(kMaxTemplateNesting) + " levels");
      util::check_stack("template");
    }
    ~Nest() { p.nesting_--; }
  };

  std::shared_ptr<Node> parse_control(const std::string& kw) {
    Nest nest(*this);
    auto n = std::make_shared<Node>();
    n->kind = kw == "if" ? Node::Kind::kIf : kw == "range" ? Node::Kind::kRange : Node::Kind::kWith;
    n->pipe = parse_pipeline(true);
    expect(T::kRight, "}}");
    std::string end_kw;
    n->list = parse_list(&end_kw, false);
    if (end_kw == "else") {
      // `else if ...` / `else with ...` chain: parse as a nested control in the else branch.
      if (peek().type == T::kKeyword && (peek().value == "if" || peek().value == "with")) {
        std::string kw2 = next().value;
        n->else_list.push_back(parse_control_chained(kw2));
      } else {
        expect(T::kRight, "}}");
        n->else_list = parse_list(&end_kw, false);
        if (end_kw != "end") fail("expected end; found else");
      }
    }
    return n;
  }

  // Like parse_control but the chain shares the outer {{end}}.
  std::shared_ptr<Node> parse_control_chained(const std::string& kw) { return parse_control(kw); }

  void parse_define() {
    Nest nest(*this);
    if (peek().type != T::kString) fail("define: expected template name");
    std::string nm = next().value;
    expect(T::kRight, "}}");
    std::string end_kw;
    NodeList body = parse_list(&end_kw, false);
    if (end_kw != "end") fail("unexpected else in define");
    defines_[nm] = std::move(body);
  }

  std::shared_ptr<Node> parse_template(bool is_block) {
    Nest nest(*this);
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kTemplate;
    if (peek().type != T::kString) fail("template: expected template name");
    n->text = next().value;
    if (peek().type != T::kRight) {
      n->pipe = parse_pipeline(false);
      n->has_pipe = true;
    }
    expect(T::kRight, "}}");
    if (is_block) {
      std::string end_kw;
      NodeList body = parse_list(&end_kw, false);
      if (end_kw != "end") fail("unexpected else in block");
      if (!defines_.count(n->text)) defines_[n->text] = std::move(body);
    }
    return n;
  }

  Pipeline parse_pipeline(bool allow_decl) {
    Pipeline p;
    if (allow_decl && peek().type == T::kVariable) {
      size_t save = i_;
      std::vector<std::string> vars{next().value};
      if (peek().type == T::kComma && peek(1).type == T::kVariable) {
        next();
        vars.push_back(next().value);
      }
      if (peek().type == T::kDeclare || peek().type == T::kAssign) {
        p.is_assign = next().type == T::kAssign;
        p.decls = vars;
      } else {
        i_ = save;
      }
    }
    while (true) {
      Command c;
      while (peek().type != T::kPipe && peek().type != T::kRight && peek().type != T::kRParen) {
        if (peek().type == T::kEof || peek().type == T::kLeft) fail("unclosed action");
        c.args.push_back(parse_operand());
      }
      if (c.args.empty()) fail("missing value for command");
      p.commands.push_back(std::move(c));
      if (peek().type != T::kPipe) break;
      next();
    }
    return p;
  }

  Arg parse_operand() {
    Token tk = next();
    Arg a;
    switch (tk.type) {
      case T::kString:
        a.literal = tk.value;
        break;
      case T::kBool:
        a.literal = tk.value == "true";
        break;
      case T::kNil:
        a.literal = nullptr;
        break;
      case T::kNumber:
        a.literal = parse_number(tk.value);
        break;
      case T::kDot:
        a.kind = Arg::Kind::kDot;
        break;
      case T::kField:
        a.kind = Arg::Kind::kField;
        a.fields.push_back(tk.value);
        break;
      case T::kVariable:
        a.kind = Arg::Kind::kVariable;
        a.name = tk.value;
        break;
      case T::kIdent:
        if (!is_function(tk.value)) fail("function \"" + tk.value + "\" not defined");
        a.kind = Arg::Kind::kIdentifier;
        a.name = tk.value;
        break;
      case T::kLParen: {
        Nest nest(*this);
        a.kind = Arg::Kind::kPipe;
        a.pipe = std::make_shared<Pipeline>(parse_pipeline(true));
        expect(T::kRParen, ")");
        break;
      }
      default:
        fail("unexpected \"" + tk.value + "\" in operand");
    }
    // Field chain directly attached: .A.B, $x.A, (pipe).A
    while (peek().type == T::kField && !peek().spaced && a.kind != Arg::Kind::kLiteral &&
           a.kind != Arg::Kind::kIdentifier) {
      if (a.kind == Arg::Kind::kDot) a.kind = Arg::Kind::kField;
      a.fields.push_back(next().value);
    }
    return a;
  }

  Json parse_number(const std::string& s) {
    std::string clean;
    for (char c : s)
      if (c != '_') clean += c;
    char* end = nullptr;
    if (clean.find_first_of(".eE") == std::string::npos || clean.rfind("0x", 0) == 0 ||
        clean.rfind("-0x", 0) == 0) {
      long long v = std::strtoll(clean.c_str(), &end, 0);
      if (end && *end == '\0') return v;
    }
    double d = std::strtod(clean.c_str(), &end);
    if (!end || *end != '\0') fail("bad number syntax: " + s);
    return d;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int nesting_ = 0;
  std::string name_;
  std::map<std::string, NodeList>& defines_;
};

Template Template::parse(std::string_view text, std::string name) {
  Template t;
  t.name_ = name;
  t.source_ = std::string(text);
  t.defines_ = std::make_shared<std::map<std::string, NodeList>>();
  Lexer lx(text, name);
  Parser p(lx.run(), name, *t.defines_);
  t.root_ = std::make_shared<NodeList>(p.parse_top());
  return t;
}

}  // namespace prompt
