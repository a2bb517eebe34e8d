// Constrained decoding, part 3: the grammar applied to tokens. A token is allowed when all of
// its bytes keep the output inside the grammar (tokens spanning several grammar symbols and
// partial UTF-8 included); an end-of-generation token only when the output is a complete
// match. The sampler first draws from the unconstrained distribution and checks that one
// token (a few bytes through the matcher); only when it is rejected is the full mask computed
// (a walk of the vocabulary trie that prunes a prefix as soon as the matcher rejects it) and
// the token drawn again from the allowed ones: the same distribution as masking every step.
// Masks are cached per matcher state, shared by the requests that use the same format.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/sample/grammar.h"

namespace engine::sample {

// The vocabulary as byte strings in a trie, built once per model.
class TokenTrie {
 public:
  // bytes[id]: what token id appends to the output ("" for control tokens: never allowed);
  // eog: the end-of-generation ids.
  TokenTrie(const std::vector<std::string>& bytes, const std::vector<int32_t>& eog);

  int32_t n_vocab() const { return static_cast<int32_t>(bytes_.size()); }
  const std::string& bytes(int32_t id) const { return bytes_[id]; }
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog() const { return eog_; }

 private:
  friend class Constraint;
  struct Node {
    uint32_t first_child = 0, n_children = 0;  // children are contiguous
    uint32_t tok_begin = 0, tok_end = 0;       // tokens that end here: toks_[begin..end)
    uint8_t byte = 0;
  };
  uint32_t build(const std::vector<int32_t>& ids, size_t lo, size_t hi, size_t depth);
  std::vector<std::string> bytes_;
  std::vector<int32_t> eog_;
  std::vector<Node> nodes_;  // nodes_[0]: the root
  std::vector<int32_t> toks_;
  size_t max_len_ = 0;
};

// A compiled format with what its matches have learned (one per distinct format text, shared
// by requests; used from the runner's loop thread only): every matcher state met gets an id
// and a lazily filled transition row, so walking the vocabulary trie costs a table lookup per
// node after the first walks, and masks are cached per state.
struct CompiledFormat {
  explicit CompiledFormat(std::shared_ptr<const Grammar> g) : grammar(std::move(g)) {}
  std::shared_ptr<const Grammar> grammar;
  std::shared_ptr<const TokenTrie> vocab;  // what its masks are over (set by the owner)

  int32_t intern(const GrammarState& s);
  // The state after byte c from state id, or -1 when c is rejected.
  int32_t step(int32_t id, uint8_t c);
  // Forgets learned states and masks when they grow past their bounds (between walks only).
  void trim();

  std::unordered_map<std::string, int32_t> ids;
  std::vector<GrammarState> states;
  std::vector<std::vector<int32_t>> next;  // [state][byte]: -2 unknown, -1 rejected
  std::vector<std::shared_ptr<const std::vector<uint64_t>>> masks;  // [state], once computed
};

// One sequence's constraint.
class Constraint {
 public:
  Constraint(std::shared_ptr<CompiledFormat> format, std::shared_ptr<const TokenTrie> vocab);

  bool allows(int32_t token) const;
  // The allowed tokens as a bitset over the vocabulary (valid until the next accept).
  const std::vector<uint64_t>& mask();
  // Advances past a token; throws util::Error if the token is not allowed.
  void accept(int32_t token);
  bool complete() const { return state_.complete(); }
  // True once the output is complete and nothing may follow: generation stops here.
  bool finished() const { return state_.complete() && !state_.can_continue(); }

 private:
  void walk(uint32_t node, int32_t state, std::vector<uint64_t>& out);

  std::shared_ptr<CompiledFormat> format_;
  std::shared_ptr<const TokenTrie> vocab_;
  GrammarState state_;
  std::shared_ptr<const std::vector<uint64_t>> mask_;  // of state_, once computed
};

}  // namespace engine::sample
