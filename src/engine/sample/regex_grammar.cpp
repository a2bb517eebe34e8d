#include "engine/sample/regex_grammar.h"

#include <string>

#include "util/error.h"

namespace engine::sample {

using Elem = Grammar::Elem;
using ByteSet = Grammar::ByteSet;
using Seq = std::vector<Elem>;

namespace {

constexpr int64_t kMaxRepeat = 100000;  // bounds larger than this are refused (grammar size)

ByteSet range(int lo, int hi) {
  ByteSet b;
  for (int c = lo; c <= hi; c++) b.set(c);
  return b;
}

}  // namespace

JsonRules::JsonRules(Grammar& gr) : g(gr) {
  const Elem cont = g.chars(range(0x80, 0xbf));
  utf8 = alts({{g.chars(range(0xc2, 0xdf)), cont},
               {g.chars(range(0xe0, 0xe0)), g.chars(range(0xa0, 0xbf)), cont},
               {g.chars(range(0xe1, 0xec)), cont, cont},
               {g.chars(range(0xed, 0xed)), g.chars(range(0x80, 0x9f)), cont},
               {g.chars(range(0xee, 0xef)), cont, cont},
               {g.chars(range(0xf0, 0xf0)), g.chars(range(0x90, 0xbf)), cont, cont},
               {g.chars(range(0xf1, 0xf3)), cont, cont, cont},
               {g.chars(range(0xf4, 0xf4)), g.chars(range(0x80, 0x8f)), cont, cont}});
  ByteSet plain = range(0x20, 0x7f);
  plain.reset('"');
  plain.reset('\\');
  ByteSet esc;
  for (char c : std::string("\"\\/bfnrt")) esc.set(static_cast<unsigned char>(c));
  ByteSet hex = range('0', '9') | range('a', 'f') | range('A', 'F');
  const Elem h = g.chars(hex);
  const Elem bs = g.literal("\\")[0];
  str_char = alts({{g.chars(plain)},
                   {bs, g.chars(esc)},
                   {bs, g.literal("u")[0], h, h, h, h},
                   {Grammar::ref(utf8)}});
  const uint32_t indent = repeat({g.chars(ByteSet().set(' ').set('\t'))}, 0, 20);
  ws = alts({{}, g.literal(" "), {g.literal("\n")[0], Grammar::ref(indent)}});
}

uint32_t JsonRules::alts(const std::vector<Seq>& alternatives) {
  const uint32_t r = g.new_rule();
  for (const Seq& s : alternatives) g.add_alt(r, s);
  return r;
}

uint32_t JsonRules::repeat(const Seq& x, int64_t min, int64_t max) {
  if (min < 0 || min > kMaxRepeat || max > kMaxRepeat || (max >= 0 && max < min)) {
    throw util::bad_request("format: repetition bounds {" + std::to_string(min) + "," +
                            std::to_string(max) + "} are out of range");
  }
  Seq head;
  for (int64_t i = 0; i < min; i++) head.insert(head.end(), x.begin(), x.end());
  if (max < 0) {  // star ::= x star | ""
    const uint32_t star = g.new_rule();
    Seq loop = x;
    loop.push_back(Grammar::ref(star));
    g.add_alt(star, loop);
    g.add_alt(star, {});
    head.push_back(Grammar::ref(star));
  } else if (max > min) {  // t_k ::= "" | x t_{k-1}
    uint32_t tail = alts({{}, x});
    for (int64_t k = 2; k <= max - min; k++) {
      Seq more = x;
      more.push_back(Grammar::ref(tail));
      tail = alts({{}, more});
    }
    head.push_back(Grammar::ref(tail));
  }
  return alts({head});
}

namespace {

// A character class over ASCII, plus whether it admits non-ASCII characters.
struct CharClass {
  ByteSet ascii;
  bool non_ascii = false;
};

class RegexParser {
 public:
  RegexParser(JsonRules& j, std::string_view p) : j_(j), p_(p) {}

  uint32_t parse() {
    if (at('^')) i_++;
    const uint32_t r = alternation();
    if (i_ != p_.size()) fail("unexpected '" + std::string(1, p_[i_]) + "'");
    return r;
  }

 private:
  bool at(char c) const { return i_ < p_.size() && p_[i_] == c; }
  [[noreturn]] void fail(const std::string& why) const {
    throw util::bad_request("format: pattern \"" + std::string(p_) + "\": " + why);
  }

  uint32_t alternation() {
    if (++depth_ > kMaxNesting) fail("groups nest too deeply");
    std::vector<Seq> alts{sequence()};
    while (at('|')) {
      i_++;
      alts.push_back(sequence());
    }
    depth_--;
    return j_.alts(alts);
  }

  Seq sequence() {
    Seq s;
    while (i_ < p_.size() && !at('|') && !at(')')) {
      if (at('$') && i_ + 1 == p_.size()) {  // end anchor: implied
        i_++;
        break;
      }
      Seq a = atom();
      quantified(a);
      s.insert(s.end(), a.begin(), a.end());
    }
    return s;
  }

  int64_t number() {
    if (i_ >= p_.size() || p_[i_] < '0' || p_[i_] > '9') fail("expected a number in {}");
    int64_t v = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      v = v * 10 + (p_[i_++] - '0');
      if (v > kMaxRepeat) fail("repetition count too large");
    }
    return v;
  }

  void quantified(Seq& a) {
    int64_t min = 1, max = 1;
    if (at('*')) {
      min = 0, max = -1;
    } else if (at('+')) {
      min = 1, max = -1;
    } else if (at('?')) {
      min = 0, max = 1;
    } else if (at('{')) {
      i_++;
      min = max = number();
      if (at(',')) {
        i_++;
        max = at('}') ? -1 : number();
      }
      if (!at('}')) fail("expected '}'");
    } else {
      return;
    }
    i_++;
    if (at('?') || at('+')) i_++;  // lazy / possessive: the same strings
    a = {Grammar::ref(j_.repeat(a, min, max))};
  }

  Seq atom() {
    const char c = p_[i_];
    if (c == '(') {
      i_++;
      if (at('?')) {
        if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
          i_ += 2;
        } else {
          fail("only (?:...) groups are supported");
        }
      }
      const uint32_t r = alternation();
      if (!at(')')) fail("missing ')'");
      i_++;
      return {Grammar::ref(r)};
    }
    if (c == '[') return klass();
    if (c == '.') {
      i_++;
      CharClass cc;
      cc.ascii = range(0x20, 0x7e);
      cc.non_ascii = true;
      return emit(cc);
    }
    if (c == '\\') return escape(false, nullptr);
    if (c == '*' || c == '+' || c == '?' || c == '{') fail("nothing to repeat");
    i_++;
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {  // a UTF-8 character of the pattern, taken literally
      Seq s{j_.g.literal(std::string(1, c))};
      while (i_ < p_.size() && (static_cast<unsigned char>(p_[i_]) & 0xc0) == 0x80) {
        s.push_back(j_.g.literal(std::string(1, p_[i_++]))[0]);
      }
      return s;
    }
    CharClass cc;
    cc.ascii.set(u);
    return emit(cc);
  }

  // After '\\': a class escape (into `into` when inside [...]) or a literal.
  Seq escape(bool in_class, CharClass* into) {
    i_++;
    if (i_ >= p_.size()) fail("trailing backslash");
    const char e = p_[i_++];
    CharClass cc;
    const ByteSet digit = range('0', '9');
    const ByteSet word = digit | range('a', 'z') | range('A', 'Z') | ByteSet().set('_');
    const ByteSet space = ByteSet().set(' ');
    switch (e) {
      case 'd':
        cc.ascii = digit;
        break;
      case 'w':
        cc.ascii = word;
        break;
      case 's':
        cc.ascii = space;
        break;
      case 'D':
        cc.ascii = range(0x20, 0x7e) & ~digit, cc.non_ascii = true;
        break;
      case 'W':
        cc.ascii = range(0x20, 0x7e) & ~word, cc.non_ascii = true;
        break;
      case 'S':
        cc.ascii = range(0x21, 0x7e), cc.non_ascii = true;
        break;
      case 'n':
      case 't':
      case 'r':
      case 'f':
      case 'b':
        if (in_class) fail("\\" + std::string(1, e) + " inside [] is not supported");
        return j_.g.literal(std::string("\\") + e);  // JSON's escape for the character
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
          fail("escape \\" + std::string(1, e) + " is not supported");
        cc.ascii.set(static_cast<unsigned char>(e));
    }
    if (in_class) {
      into->ascii |= cc.ascii;
      into->non_ascii |= cc.non_ascii;
      return {};
    }
    return emit(cc);
  }

  Seq klass() {
    i_++;
    const bool neg = at('^');
    if (neg) i_++;
    CharClass cc;
    bool first = true;
    while (i_ < p_.size() && (!at(']') || first)) {
      first = false;
      if (at('\\')) {
        escape(true, &cc);
        continue;
      }
      const auto lo = static_cast<unsigned char>(p_[i_++]);
      if (lo >= 0x80) fail("non-ASCII characters in [] are not supported");
      if (at('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        i_++;
        const auto hi = static_cast<unsigned char>(p_[i_++]);
        if (hi < lo || hi >= 0x80) fail("bad range in []");
        cc.ascii |= range(lo, hi);
      } else {
        cc.ascii.set(lo);
      }
    }
    if (!at(']')) fail("missing ']'");
    i_++;
    if (neg) {
      cc.ascii = range(0x20, 0x7e) & ~cc.ascii;
      cc.non_ascii = true;
    }
    return emit(cc);
  }

  // One character of the class, as it appears inside a JSON string.
  Seq emit(const CharClass& cc) {
    std::vector<Seq> alts;
    ByteSet plain = cc.ascii & range(0x20, 0x7e);
    plain.reset('"');
    plain.reset('\\');
    if (plain.any()) alts.push_back({j_.g.chars(plain)});
    if (cc.ascii.test('"')) alts.push_back(j_.g.literal("\\\""));
    if (cc.ascii.test('\\')) alts.push_back(j_.g.literal("\\\\"));
    if (cc.non_ascii) alts.push_back({Grammar::ref(j_.utf8)});
    if (alts.empty()) fail("a class that matches nothing");
    if (alts.size() == 1) return alts[0];
    return {Grammar::ref(j_.alts(alts))};
  }

  static constexpr int kMaxNesting = 256;
  JsonRules& j_;
  std::string_view p_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

uint32_t regex_rule(JsonRules& j, std::string_view pattern) {
  return RegexParser(j, pattern).parse();
}

}  // namespace engine::sample
