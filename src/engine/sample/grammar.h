// Constrained decoding, part 1: a context-free grammar over bytes and its incremental
// matcher. A grammar is rules of alternatives; an alternative is a sequence of byte sets and
// rule references. The matcher keeps every way the output so far can continue as a set of
// stacks of positions (a pushdown automaton run breadth-first), so ambiguity (anyOf, optional
// whitespace) costs a few stacks, never backtracking. Left recursion is not supported (the
// schema compiler never writes it).
#pragma once
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace engine::sample {

class Grammar {
 public:
  struct Elem {
    enum Kind : uint8_t { kChars, kRule, kEnd } kind;
    uint32_t index;  // byte set (kChars) or rule (kRule)
  };
  using ByteSet = std::bitset<256>;
  // Bound on a grammar's size (elements; ~8 bytes each): add_alt throws a 400 past it.
  static constexpr size_t kMaxElems = size_t{4} << 20;

  uint32_t new_rule();
  // Adds an alternative to rule r; an empty sequence matches the empty string.
  void add_alt(uint32_t r, const std::vector<Elem>& seq);
  Elem chars(const ByteSet& set);
  static Elem ref(uint32_t r) { return {Elem::kRule, r}; }
  // Elements of a literal byte string.
  std::vector<Elem> literal(std::string_view s);
  void set_root(uint32_t r) { root_ = r; }

  uint32_t root() const { return root_; }
  size_t n_rules() const { return alts_.size(); }
  size_t size() const { return elems_.size(); }  // elements, the measure of a grammar's size

 private:
  friend class GrammarState;
  std::vector<ByteSet> sets_;
  std::vector<Elem> elems_;                  // alternatives, each ended by kEnd
  std::vector<std::vector<uint32_t>> alts_;  // per rule: first element of each alternative
  uint32_t root_ = 0;
};

// Where a match of a grammar stands: the set of stacks (each a list of element positions,
// the top a byte set to match next; an empty stack means the input so far is a complete
// match). Copyable and cheap to advance into a reused buffer.
class GrammarState {
 public:
  GrammarState() = default;
  explicit GrammarState(const Grammar& g);  // the start: nothing consumed

  // Consumes one byte into `out` (cleared first). Returns false (out empty) when no stack
  // accepts it.
  bool advance(uint8_t c, GrammarState& out) const;
  // Consumes bytes in place; false (state unchanged) when some byte is rejected.
  bool consume(std::string_view bytes);

  bool failed() const { return offsets_.empty(); }  // no way to continue or end
  bool complete() const;                            // the input so far is a whole match
  bool can_continue() const;                        // some stack wants more bytes
  // A key equal for equal states (for caching token masks per state).
  std::string key() const;

 private:
  void push_closed(std::vector<uint32_t>& stack, int depth);
  void add_stack(const uint32_t* s, size_t n);

  const Grammar* g_ = nullptr;
  std::vector<uint32_t> data_;     // stacks back to back, bottom first
  std::vector<uint32_t> offsets_;  // stack i = data_[offsets_[i] .. offsets_[i + 1])
};

}  // namespace engine::sample
