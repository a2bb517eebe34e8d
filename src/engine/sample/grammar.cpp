#include "engine/sample/grammar.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "util/error.h"

namespace engine::sample {

namespace {
// Rule expansions within one byte step: a grammar deeper than this is refused as it runs.
constexpr int kMaxDepth = 2000;
// Distinct stacks kept after a byte: more means a pathologically ambiguous grammar.
constexpr size_t kMaxStacks = 4096;
}  // namespace

uint32_t Grammar::new_rule() {
  alts_.emplace_back();
  return static_cast<uint32_t>(alts_.size() - 1);
}

void Grammar::add_alt(uint32_t r, const std::vector<Elem>& seq) {
  if (elems_.size() + seq.size() > kMaxElems) {
    throw util::bad_request("format: the schema is too large to follow (over " +
                            std::to_string(kMaxElems) + " grammar elements)");
  }
  alts_[r].push_back(static_cast<uint32_t>(elems_.size()));
  elems_.insert(elems_.end(), seq.begin(), seq.end());
  elems_.push_back({Elem::kEnd, 0});
}

Grammar::Elem Grammar::chars(const ByteSet& set) {
  for (size_t i = 0; i < sets_.size(); i++) {
    if (sets_[i] == set) return {Elem::kChars, static_cast<uint32_t>(i)};
  }
  sets_.push_back(set);
  return {Elem::kChars, static_cast<uint32_t>(sets_.size() - 1)};
}

std::vector<Grammar::Elem> Grammar::literal(std::string_view s) {
  std::vector<Elem> out;
  for (unsigned char c : s) {
    ByteSet b;
    b.set(c);
    out.push_back(chars(b));
  }
  return out;
}

GrammarState::GrammarState(const Grammar& g) : g_(&g) {
  offsets_.push_back(0);
  for (uint32_t a : g.alts_[g.root_]) {
    std::vector<uint32_t> stack{a};
    push_closed(stack, 0);
  }
}

void GrammarState::add_stack(const uint32_t* s, size_t n) {
  // Deduplicate: the sets are small (a few stacks), a linear scan is cheapest.
  for (size_t i = 0; i + 1 < offsets_.size(); i++) {
    const size_t len = offsets_[i + 1] - offsets_[i];
    if (len == n && std::equal(s, s + n, data_.begin() + offsets_[i])) return;
  }
  if (offsets_.size() > kMaxStacks) {
    throw util::bad_request("format: the schema is too ambiguous to follow");
  }
  data_.insert(data_.end(), s, s + n);
  offsets_.push_back(static_cast<uint32_t>(data_.size()));
}

// Expands the top of `stack` until it is a byte set (or the stack is empty) and adds the
// results. Positions past a rule's last element are dropped before expanding (tail calls do
// not grow the stack: `r ::= x r` loops in constant space).
void GrammarState::push_closed(std::vector<uint32_t>& stack, int depth) {
  if (depth > kMaxDepth) throw util::bad_request("format: the schema nests too deeply");
  const auto& el = g_->elems_;
  while (!stack.empty() && el[stack.back()].kind == Grammar::Elem::kEnd) stack.pop_back();
  if (stack.empty() || el[stack.back()].kind == Grammar::Elem::kChars) {
    add_stack(stack.data(), stack.size());
    return;
  }
  const uint32_t pos = stack.back();
  const uint32_t rule = el[pos].index;
  stack.back() = pos + 1;  // the continuation after the rule
  if (el[pos + 1].kind == Grammar::Elem::kEnd) stack.pop_back();
  // Each alternative continues from a copy: expanding one may pop into and rewrite the
  // positions below it, which the next alternative needs as they were.
  thread_local std::vector<std::vector<uint32_t>> scratch;
  if (scratch.size() < kMaxDepth + 2) scratch.resize(kMaxDepth + 2);  // never moves after
  for (uint32_t a : g_->alts_[rule]) {
    std::vector<uint32_t>& s = scratch[depth];
    s.assign(stack.begin(), stack.end());
    s.push_back(a);
    push_closed(s, depth + 1);
  }
}

bool GrammarState::advance(uint8_t c, GrammarState& out) const {
  out.g_ = g_;
  out.data_.clear();
  out.offsets_.assign(1, 0);
  thread_local std::vector<uint32_t> stack;
  const auto& el = g_->elems_;
  for (size_t i = 0; i + 1 < offsets_.size(); i++) {
    const uint32_t b = offsets_[i], e = offsets_[i + 1];
    if (b == e) continue;  // a complete match takes no more bytes
    const Grammar::Elem& top = el[data_[e - 1]];
    if (!g_->sets_[top.index].test(c)) continue;
    stack.assign(data_.begin() + b, data_.begin() + e);
    stack.back() += 1;
    out.push_closed(stack, 0);
  }
  if (out.offsets_.size() == 1) {
    out.offsets_.clear();
    return false;
  }
  return true;
}

bool GrammarState::consume(std::string_view bytes) {
  GrammarState next;
  GrammarState cur = *this;
  for (unsigned char c : bytes) {
    if (!cur.advance(c, next)) return false;
    std::swap(cur, next);
  }
  *this = std::move(cur);
  return true;
}

bool GrammarState::complete() const {
  for (size_t i = 0; i + 1 < offsets_.size(); i++) {
    if (offsets_[i] == offsets_[i + 1]) return true;
  }
  return false;
}

bool GrammarState::can_continue() const {
  for (size_t i = 0; i + 1 < offsets_.size(); i++) {
    if (offsets_[i] != offsets_[i + 1]) return true;
  }
  return false;
}

std::string GrammarState::key() const {
  std::string k;
  k.resize((data_.size() + offsets_.size()) * 4);
  std::memcpy(k.data(), data_.data(), data_.size() * 4);
  std::memcpy(k.data() + data_.size() * 4, offsets_.data(), offsets_.size() * 4);
  return k;
}

}  // namespace engine::sample
