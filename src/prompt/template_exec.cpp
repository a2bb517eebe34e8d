// Executes a parsed Go template over JSON data with Go's truthiness and printing rules.
#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "prompt/template.h"
#include "prompt/template_funcs.h"
#include "util/stack.h"

namespace prompt {
namespace {

struct BreakSignal {};
struct ContinueSignal {};

const Json& null_json() {
  static const Json n = nullptr;
  return n;
}

// A value during execution: borrowed from the data (which outlives the execution) or shared
// (a function result, immutable once made: copying a Val never copies the JSON, and a part
// of a shared value keeps the whole alive). `slice` of an array gives a window [lo, hi) over
// it instead of a copy, so `len (slice $.Messages $i)` costs nothing per message.
struct Val {
  const Json* ref = &null_json();   // borrowed, when `own` is empty
  std::shared_ptr<const Json> own;  // shared (may point into a larger shared value)
  bool window = false;
  size_t lo = 0, hi = 0;
  mutable std::shared_ptr<const Json> cache;  // a window as an array, made when first needed

  static Val borrow(const Json& j) {
    Val v;
    v.ref = &j;
    return v;
  }
  static Val owned(Json j) {
    Val v;
    v.own = std::make_shared<const Json>(std::move(j));
    return v;
  }

  // The underlying value (for a window: the whole array).
  const Json& base() const { return own ? *own : *ref; }
  // The value itself (a window copied out as an array, once).
  const Json& json() const {
    if (!window) return base();
    if (!cache)
      cache = std::make_shared<const Json>(std::vector<Json>(
          base().begin() + static_cast<long>(lo), base().begin() + static_cast<long>(hi)));
    return *cache;
  }
  // A part of this value (an element or member) without a copy.
  Val child(const Json& part) const {
    Val v;
    if (own)
      v.own = std::shared_ptr<const Json>(own, &part);
    else
      v.ref = &part;
    return v;
  }
  bool is_array() const { return window || base().is_array(); }
  size_t array_size() const { return window ? hi - lo : base().size(); }
  const Json& element(size_t i) const { return base()[window ? lo + i : i]; }
  // A window over elements [from, to) of this array (or window).
  Val sub(size_t from, size_t to) const {
    Val v = *this;
    v.cache.reset();
    v.window = true;
    v.lo = (window ? lo : 0) + from;
    v.hi = (window ? lo : 0) + to;
    return v;
  }
};

// What one execution may cost: a template is user input (the `template` field, a Modelfile),
// so recursion, output and work are bounded like Go's executor bounds its depth.
// A {{template}} call costs about this many node steps (a new scope, the lookup, `$`).
constexpr uint64_t kTemplateCallSteps = 10;

struct Budget {
  int depth = 0;       // nested {{template}} calls
  uint64_t steps = 0;  // nodes executed and range iterations
};

class Exec {
 public:
  Exec(const std::map<std::string, NodeList>& defines, std::string& out, Budget& budget)
      : defines_(defines), out_(out), budget_(budget) {}

  void run(const NodeList& list, const Val& dot) {
    util::check_stack("template");
    for (const auto& n : list) {
      charge(1);
      run_node(*n, dot);
      if (out_.size() > kMaxTemplateOutput)
        fail("output exceeds " + std::to_string(kMaxTemplateOutput >> 20) + " MiB");
    }
  }

  void push_var(const std::string& name, Val v) { vars_.emplace_back(name, std::move(v)); }

 private:
  [[noreturn]] void fail(const std::string& m) { throw TemplateError("template: " + m); }

  void charge(uint64_t steps) {
    budget_.steps += steps;
    if (budget_.steps > kMaxTemplateSteps)
      fail("execution exceeded " + std::to_string(kMaxTemplateSteps) + " steps");
  }

  void run_node(const Node& n, const Val& dot) {
    switch (n.kind) {
      case Node::Kind::kText:
        out_ += n.text;
        break;
      case Node::Kind::kAction: {
        Val v = eval_pipeline(n.pipe, dot);
        if (n.pipe.decls.empty()) out_ += print_value(v.json());
        break;
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        size_t mark = vars_.size();
        Val v = eval_pipeline(n.pipe, dot);
        if (is_true(v)) {
          if (n.kind == Node::Kind::kWith)
            run(n.list, v);
          else
            run(n.list, dot);
        } else {
          run(n.else_list, dot);
        }
        vars_.resize(mark);
        break;
      }
      case Node::Kind::kRange:
        run_range(n, dot);
        break;
      case Node::Kind::kTemplate: {
        auto it = defines_.find(n.text);
        if (it == defines_.end()) fail("no such template \"" + n.text + "\"");
        Val arg = n.has_pipe ? eval_pipeline(n.pipe, dot) : Val::borrow(null_json());
        if (budget_.depth >= kMaxTemplateDepth)
          fail("exceeded maximum template depth (" + std::to_string(kMaxTemplateDepth) + ")");
        charge(kTemplateCallSteps);
        budget_.depth++;
        Exec sub(defines_, out_, budget_);
        sub.push_var("$", arg);
        sub.run(it->second, arg);
        budget_.depth--;
        break;
      }
      case Node::Kind::kBreak:
        throw BreakSignal{};
      case Node::Kind::kContinue:
        throw ContinueSignal{};
    }
  }

  void run_range(const Node& n, const Val& dot) {
    size_t mark = vars_.size();
    // The pipeline's declarations are bound per element, not to the whole value.
    Pipeline p = n.pipe;
    std::vector<std::string> decls = p.decls;
    p.decls.clear();
    Val coll = eval_pipeline(p, dot);
    const Json& c = coll.base();
    auto body = [&](Val key, Val elem) {
      charge(1);
      vars_.resize(mark);
      if (decls.size() == 1) push_var(decls[0], elem);
      if (decls.size() == 2) {
        push_var(decls[0], std::move(key));
        push_var(decls[1], elem);
      }
      try {
        run(n.list, elem);
      } catch (const ContinueSignal&) {
      }
    };
    bool any = false;
    try {
      if (coll.is_array()) {
        for (size_t i = 0; i < coll.array_size(); i++) {
          any = true;
          body(Val::owned(static_cast<int64_t>(i)), coll.child(coll.element(i)));
        }
      } else if (c.is_object()) {
        std::vector<std::string> keys;
        for (auto it = c.begin(); it != c.end(); ++it)
          if (it.key() != kJsonKey) keys.push_back(it.key());
        std::sort(keys.begin(), keys.end());  // Go ranges maps in sorted key order
        for (auto& k : keys) {
          any = true;
          body(Val::owned(k), coll.child(c[k]));
        }
      } else if (c.is_number_integer()) {
        for (int64_t i = 0; i < c.get<int64_t>(); i++) {
          any = true;
          body(Val::owned(i), Val::owned(i));
        }
      } else if (!c.is_null()) {
        fail("range can't iterate over " + c.dump());
      }
    } catch (const BreakSignal&) {
    }
    vars_.resize(mark);
    if (!any) run(n.else_list, dot);
  }

  Val eval_pipeline(const Pipeline& p, const Val& dot) {
    Val result;
    bool have = false;
    for (const auto& cmd : p.commands) {
      result = eval_command(cmd, dot, have ? &result : nullptr);
      have = true;
    }
    if (!p.decls.empty()) {
      if (p.is_assign) {
        // Sharing is safe: values are immutable and a part keeps its whole alive.
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == p.decls[0]) {
            it->second = result;
            return result;
          }
        fail("undefined variable: " + p.decls[0]);
      }
      push_var(p.decls.back(), result);
    }
    return result;
  }

  Val eval_command(const Command& c, const Val& dot, Val* piped) {
    const Arg& first = c.args[0];
    if (first.kind == Arg::Kind::kIdentifier) {
      const std::string& fn = first.name;
      // and/or short-circuit on truthiness and return the deciding operand.
      if (fn == "and" || fn == "or") {
        std::vector<const Arg*> args;
        for (size_t i = 1; i < c.args.size(); i++) args.push_back(&c.args[i]);
        if (args.empty() && !piped) fail(fn + ": wrong number of args");
        Val v;
        for (size_t i = 0; i <= args.size(); i++) {
          if (i == args.size()) {
            if (!piped) break;
            v = *piped;
          } else {
            v = eval_arg(*args[i], dot);
          }
          bool t = is_true(v);
          if ((fn == "and" && !t) || (fn == "or" && t)) return v;
        }
        return v;
      }
      std::vector<Val> vals;
      for (size_t i = 1; i < c.args.size(); i++) vals.push_back(eval_arg(c.args[i], dot));
      if (piped) vals.push_back(*piped);
      if (std::optional<Val> v = call_on_arrays(fn, vals)) return std::move(*v);
      std::vector<const Json*> args;
      for (const Val& v : vals) args.push_back(&v.json());
      Json result;
      try {
        result = call_function(fn, args);
      } catch (const nlohmann::json::exception& e) {
        fail(fn + ": " + e.what());
      }
      // Values that never reach the output (a variable doubled by printf in a loop) are
      // bounded like the output.
      if (result.is_string() && result.get_ref<const std::string&>().size() > kMaxTemplateOutput)
        fail(fn + ": result exceeds " + std::to_string(kMaxTemplateOutput >> 20) + " MiB");
      // A call costs what it reads and writes, not one step: `json $` in a long range
      // serializes the whole data each time.
      uint64_t work = result.is_string() ? result.get_ref<const std::string&>().size() / 2 : 0;
      for (const Val& v : vals)
        if (v.is_array() || v.base().is_object())
          work += v.is_array() ? v.array_size() : v.base().size();
      charge(work);
      return Val::owned(std::move(result));
    }
    if (c.args.size() > 1 || piped) {
      // Method calls with arguments are not part of the data model we expose.
      if (first.kind == Arg::Kind::kField || first.kind == Arg::Kind::kVariable)
        fail("can't give argument to non-function " + describe(first));
    }
    return eval_arg(first, dot);
  }

  static std::string describe(const Arg& a) {
    std::string s = a.kind == Arg::Kind::kVariable ? a.name : "";
    for (auto& f : a.fields) s += "." + f;
    return s;
  }

  Val eval_arg(const Arg& a, const Val& dot) {
    switch (a.kind) {
      case Arg::Kind::kLiteral:
        return Val::owned(a.literal);
      case Arg::Kind::kDot:
        return dot;
      case Arg::Kind::kField:
        return walk(dot, a.fields);
      case Arg::Kind::kVariable: {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == a.name) return walk(it->second, a.fields);
        fail("undefined variable \"" + a.name + "\"");
      }
      case Arg::Kind::kIdentifier:
        try {
          return Val::owned(call_function(a.name, {}));
        } catch (const nlohmann::json::exception& e) {
          fail(a.name + ": " + e.what());
        }
      case Arg::Kind::kPipe:
        return walk(eval_pipeline(*a.pipe, dot), a.fields);
    }
    return Val::borrow(null_json());
  }

  static bool is_true(const Val& v) { return v.window ? v.hi > v.lo : truthy(v.base()); }

  // len, slice and index on arrays and windows without copying them; nullopt for anything
  // else (call_function handles it).
  std::optional<Val> call_on_arrays(const std::string& fn, const std::vector<Val>& a) {
    if (a.empty() || !a[0].is_array()) return std::nullopt;
    const Val& x = a[0];
    auto int_arg = [&](size_t i) -> size_t {
      if (!a[i].window && a[i].base().is_number_integer()) {
        int64_t k = a[i].base().get<int64_t>();
        if (k >= 0) return static_cast<size_t>(k);
      }
      fail(fn + ": index out of range");
    };
    if (fn == "len" && a.size() == 1) return Val::owned(static_cast<int64_t>(x.array_size()));
    if (fn == "slice" && a.size() <= 3) {
      size_t lo = a.size() > 1 ? int_arg(1) : 0;
      size_t hi = a.size() > 2 ? int_arg(2) : x.array_size();
      if (hi < lo || hi > x.array_size()) fail("slice: index out of range");
      return x.sub(lo, hi);
    }
    if (fn == "index" && a.size() == 2 && !a[1].window && a[1].base().is_number_integer()) {
      int64_t k = a[1].base().get<int64_t>();
      if (k < 0 || static_cast<size_t>(k) >= x.array_size())
        fail("index out of range: " + std::to_string(k));
      return x.child(x.element(static_cast<size_t>(k)));
    }
    return std::nullopt;
  }

  // Field access; a missing key is the zero value (missingkey=zero).
  static Val walk(Val v, const std::vector<std::string>& fields) {
    for (const auto& f : fields) {
      const Json& cur = v.json();
      const Json* next = &null_json();
      if (cur.is_object()) {
        auto it = cur.find(f);
        if (it != cur.end()) next = &*it;
      }
      v = next == &null_json() ? Val::borrow(null_json()) : v.child(*next);
    }
    return v;
  }

  std::vector<std::pair<std::string, Val>> vars_;
  const std::map<std::string, NodeList>& defines_;
  std::string& out_;
  Budget& budget_;
};

bool node_references(const NodeList& list, const std::string& lower);

bool pipe_references(const Pipeline& p, const std::string& lower) {
  auto eq = [&](const std::string& s) {
    std::string l = s;
    for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return l == lower;
  };
  for (auto& d : p.decls)
    if (eq(d.substr(1))) return true;
  for (const auto& c : p.commands)
    for (const auto& a : c.args) {
      for (auto& f : a.fields)
        if (eq(f)) return true;
      if (a.kind == Arg::Kind::kVariable && eq(a.name.substr(1))) return true;
      if (a.pipe && pipe_references(*a.pipe, lower)) return true;
    }
  return false;
}

bool node_references(const NodeList& list, const std::string& lower) {
  for (const auto& n : list) {
    if (n->kind != Node::Kind::kText && pipe_references(n->pipe, lower)) return true;
    if (node_references(n->list, lower) || node_references(n->else_list, lower)) return true;
  }
  return false;
}

// Ollama's legacy cut: walk lists in order (not conditions); the first action whose pipeline
// has a field named exactly `ident` is kept and every node visited after it is dropped.
bool pipe_has_field(const Pipeline& p, const std::string& ident) {
  for (const auto& c : p.commands)
    for (const auto& a : c.args) {
      if (a.kind == Arg::Kind::kField)
        for (auto& f : a.fields)
          if (f == ident) return true;
      if (a.pipe && pipe_has_field(*a.pipe, ident)) return true;
    }
  return false;
}

void cut_list(const NodeList& list, const std::string& ident, bool& cut, NodeList& out) {
  for (const auto& n : list) {
    if (cut) return;
    if (n->kind == Node::Kind::kIf || n->kind == Node::Kind::kRange ||
        n->kind == Node::Kind::kWith) {
      auto copy = std::make_shared<Node>(*n);
      copy->list.clear();
      copy->else_list.clear();
      cut_list(n->list, ident, cut, copy->list);
      cut_list(n->else_list, ident, cut, copy->else_list);
      out.push_back(copy);
      continue;
    }
    out.push_back(n);
    if (n->kind == Node::Kind::kAction && pipe_has_field(n->pipe, ident)) cut = true;
  }
}

}  // namespace

std::string Template::execute(const Json& data) const {
  std::string out;
  Budget budget;
  Exec ex(*defines_, out, budget);
  Val root = Val::borrow(data);
  ex.push_var("$", root);
  try {
    ex.run(*root_, root);
  } catch (const BreakSignal&) {
  } catch (const ContinueSignal&) {
  }
  return out;
}

bool Template::references(std::string_view ident) const {
  std::string lower(ident);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (node_references(*root_, lower)) return true;
  for (const auto& [name, body] : *defines_)
    if (node_references(body, lower)) return true;
  return false;
}

Template Template::truncated_at(std::string_view ident) const {
  Template t = *this;
  auto list = std::make_shared<NodeList>();
  bool cut = false;
  cut_list(*root_, std::string(ident), cut, *list);
  t.root_ = list;
  return t;
}

}  // namespace prompt
