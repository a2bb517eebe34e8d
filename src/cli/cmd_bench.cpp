// `ollama bench MODEL`: the engine benchmark in this process (no server), on a GGUF path or a
// local model name resolved through the store.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "engine/bench.h"
#include "store/model.h"
#include "store/name.h"
#include "store/store.h"
#include "util/env.h"
#include "util/error.h"

namespace cli {
namespace {

int int_flag(const Invocation& inv, const char* name, int def) {
  if (!inv.has(name)) return def;
  std::string v = inv.value(name);
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw util::Error("invalid argument \"" + v + "\" for \"--" + name + "\" flag: parse error");
}

// A GGUF file as given, else the model layer of a local model.
std::string resolve_model(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) return arg;
  store::ModelName name = store::ModelName::parse(arg);
  if (!name.is_valid()) throw util::Error("no such file or model: " + arg);
  store::Store st(util::Config::from_env().models_dir);
  store::Model m = store::load_model(st, name);
  if (m.model_path.empty()) throw util::Error("model '" + arg + "' has no model layer");
  return m.model_path;
}

}  // namespace

int cmd_bench(const Invocation& inv) {
  engine::BenchOptions o;
  o.model_path = resolve_model(inv.args[0]);
  o.n_prompt = int_flag(inv, "prompt", o.n_prompt);
  o.n_gen = int_flag(inv, "gen", o.n_gen);
  o.n_threads = int_flag(inv, "threads", o.n_threads);
  o.n_parallel = int_flag(inv, "parallel", o.n_parallel);
  if (o.n_prompt < 1 || o.n_gen < 1) throw util::Error("-p and -n must be at least 1");
  engine::BenchResult r = engine::run_bench(o);
  if (inv.flag("json"))
    std::printf("%s\n", r.to_json().c_str());
  else
    std::fputs(r.to_text().c_str(), stdout);
  return 0;
}

}  // namespace cli
