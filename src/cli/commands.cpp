#include "cli/commands.h"

namespace cli {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

const std::pair<std::string, std::string> kEnvHost = {
    "OLLAMA_HOST", "IP Address for the ollama server (default 127.0.0.1:11434)"};

Env serve_env() {
  return {
      {"OLLAMA_DEBUG", "Show additional debug information (e.g. OLLAMA_DEBUG=1)"},
      kEnvHost,
      {"OLLAMA_CONTEXT_LENGTH", "Context length to use unless otherwise specified (default: 4096)"},
      {"OLLAMA_KEEP_ALIVE", "The duration that models stay loaded in memory (default \"5m\")"},
      {"OLLAMA_MAX_LOADED_MODELS", "Maximum number of loaded models per GPU"},
      {"OLLAMA_MAX_TRANSFER_STREAMS", "Maximum number of concurrent transfer streams"},
      {"OLLAMA_MAX_QUEUE", "Maximum number of queued requests"},
      {"OLLAMA_MODELS", "The path to the models directory"},
      {"OLLAMA_NUM_PARALLEL", "Maximum number of parallel requests"},
      {"OLLAMA_NO_CLOUD", "Disable Ollama cloud models and features"},
      {"OLLAMA_NOPRUNE", "Do not prune model blobs on startup"},
      {"OLLAMA_ORIGINS", "A comma separated list of allowed origins"},
      {"OLLAMA_SCHED_SPREAD", "Always schedule model across all GPUs"},
      {"OLLAMA_FLASH_ATTENTION", "Enabled flash attention"},
      {"OLLAMA_KV_CACHE_TYPE", "Quantization type for the K/V cache (default: f16)"},
      {"OLLAMA_LLM_LIBRARY", "Set LLM library to bypass autodetection"},
      {"OLLAMA_GPU_OVERHEAD", "Reserve a portion of VRAM per GPU (bytes)"},
      {"OLLAMA_IGPU_ENABLE", "Allow integrated GPUs to be used"},
      {"LLAMA_ARG_FIT", "Automatic memory fit of the model (default on)"},
      {"LLAMA_ARG_FIT_TARGET", "Memory to leave free when fitting the model"},
      {"OLLAMA_LOAD_TIMEOUT",
       "How long to allow model loads to stall before giving up (default \"5m\")"},
  };
}

Command make(std::string name, std::string use_args, std::string short_desc, ArgsRule rule,
             int n_min, int n_max, int (*run)(const Invocation&)) {
  Command c;
  c.name = std::move(name);
  c.use_args = std::move(use_args);
  c.short_desc = std::move(short_desc);
  c.rule = rule;
  c.n_min = n_min;
  c.n_max = n_max;
  c.run = run;
  c.env_docs = {kEnvHost};
  return c;
}

FlagSpec bool_flag(std::string name, std::string usage, char shorthand = 0) {
  return FlagSpec{std::move(name), shorthand, true, "", std::move(usage)};
}

FlagSpec value_flag(std::string name, std::string type, std::string usage, char shorthand = 0) {
  return FlagSpec{std::move(name), shorthand, false, std::move(type), std::move(usage)};
}

}  // namespace

std::vector<Command> build_commands(ServeFn serve) {
  std::vector<Command> cmds;

  Command serve_cmd = make("serve", "", "Start Ollama", ArgsRule::kExact, 0, 0, nullptr);
  serve_cmd.aliases = {"start"};
  serve_cmd.heartbeat = false;
  serve_cmd.env_docs = serve_env();
  serve_cmd.run = [serve](const Invocation&) { return serve(); };
  cmds.push_back(serve_cmd);

  Command create = make("create", "MODEL", "Create a model", ArgsRule::kExact, 1, 1, cmd_create);
  create.flags = {
      value_flag("file", "string", "Name of the Modelfile (default \"Modelfile\")", 'f'),
      value_flag("quantize", "string", "Quantize model to this level (e.g. q4_K_M)", 'q'),
      value_flag("draft-quantize", "string", "Quantize the draft model to this level (e.g. q8_0)"),
      bool_flag("experimental", "Enable experimental safetensors model creation"),
  };
  cmds.push_back(create);

  Command show =
      make("show", "MODEL", "Show information for a model", ArgsRule::kExact, 1, 1, cmd_show);
  show.flags = {
      bool_flag("license", "Show license of a model"),
      bool_flag("modelfile", "Show Modelfile of a model"),
      bool_flag("parameters", "Show parameters of a model"),
      bool_flag("template", "Show template of a model"),
      bool_flag("system", "Show system message of a model"),
      bool_flag("verbose", "Show detailed model information", 'v'),
  };
  cmds.push_back(show);

  Command run = make("run", "MODEL [PROMPT]", "Run a model", ArgsRule::kMin, 1, 0, cmd_run);
  run.flags = {
      value_flag("keepalive", "string", "Duration to keep a model loaded (e.g. 5m)"),
      bool_flag("verbose", "Show timings for response"),
      bool_flag("insecure", "Use an insecure registry"),
      bool_flag("nowordwrap", "Don't wrap words to the next line automatically"),
      value_flag("format", "string", "Response format (e.g. json)"),
      value_flag("think", "string",
                 "Enable thinking mode: true/false or high/medium/low for supported models"),
      bool_flag("hidethinking", "Hide thinking output (if provided)"),
      bool_flag("truncate",
                "For embedding models: truncate inputs exceeding the context length "
                "(default: true). Set --truncate=false to error instead"),
      value_flag("dimensions", "int",
                 "Truncate output embeddings to specified dimension "
                 "(embedding models only)"),
  };
  run.flags[5].no_opt_value = "true";
  run.env_docs = {{"OLLAMA_EDITOR", "Path to an editor to use for writing multiline prompts"},
                  kEnvHost,
                  {"OLLAMA_NOHISTORY", "Do not preserve readline history"}};
  cmds.push_back(run);

  cmds.push_back(make("stop", "MODEL", "Stop a running model", ArgsRule::kExact, 1, 1, cmd_stop));

  Command pull =
      make("pull", "MODEL", "Pull a model from a registry", ArgsRule::kExact, 1, 1, cmd_pull);
  pull.flags = {bool_flag("insecure", "Use an insecure registry")};
  cmds.push_back(pull);

  Command push =
      make("push", "MODEL", "Push a model to a registry", ArgsRule::kExact, 1, 1, cmd_push);
  push.flags = {bool_flag("insecure", "Use an insecure registry")};
  cmds.push_back(push);

  Command signin = make("signin", "", "Sign in to ollama.com", ArgsRule::kExact, 0, 0, cmd_signin);
  signin.hidden_aliases = {"login"};
  cmds.push_back(signin);
  Command signout =
      make("signout", "", "Sign out from ollama.com", ArgsRule::kExact, 0, 0, cmd_signout);
  signout.hidden_aliases = {"logout"};
  cmds.push_back(signout);

  Command list = make("list", "", "List models", ArgsRule::kMax, 0, 1, cmd_list);
  list.aliases = {"ls"};
  cmds.push_back(list);

  cmds.push_back(make("ps", "", "List running models", ArgsRule::kMax, 0, 1, cmd_ps));
  cmds.push_back(make("cp", "SOURCE DESTINATION", "Copy a model", ArgsRule::kExact, 2, 2, cmd_cp));
  cmds.push_back(make("rm", "MODEL [MODEL...]", "Remove a model", ArgsRule::kMin, 1, 0, cmd_rm));

  Command bench = make("bench", "MODEL", "Benchmark a model (GGUF path or local model) in-process",
                       ArgsRule::kExact, 1, 1, cmd_bench);
  bench.flags = {value_flag("prompt", "int", "Prompt tokens to prefill (default 512)", 'p'),
                 value_flag("gen", "int", "Tokens to decode (default 128)", 'n'),
                 value_flag("threads", "int", "Threads (default: physical cores)", 't'),
                 value_flag("parallel", "int", "Also decode N sequences together"),
                 bool_flag("json", "Print the report as JSON")};
  bench.heartbeat = false;
  bench.env_docs = {{"OLLAMA_MODELS", "The path to the models directory"}};
  bench.hidden = true;
  cmds.push_back(bench);
  return cmds;
}

}  // namespace cli
