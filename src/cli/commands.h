// The `ollama` subcommands: the table (names, flags, help) and one handler per command.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/command.h"

namespace cli {

std::vector<Command> build_commands(ServeFn serve);

// Handlers: return the exit status; throw util::Error to print "Error: <message>" and exit 1.
int cmd_list(const Invocation& inv);
int cmd_ps(const Invocation& inv);
int cmd_show(const Invocation& inv);
int cmd_cp(const Invocation& inv);
int cmd_rm(const Invocation& inv);
int cmd_stop(const Invocation& inv);
int cmd_create(const Invocation& inv);
int cmd_run(const Invocation& inv);
int cmd_pull(const Invocation& inv);
int cmd_push(const Invocation& inv);
int cmd_signin(const Invocation& inv);
int cmd_signout(const Invocation& inv);
// `ollama bench` (not an Ollama command; hidden from help): the engine benchmark in-process.
int cmd_bench(const Invocation& inv);

// `ollama -v`: server version, client version warnings. Always exits 0.
int print_version();

// Pure formatters (unit-tested).
// list table from a /api/tags response; prefix filters case-insensitively.
std::string format_list(const nlohmann::json& tags, const std::string& prefix, int64_t now_ns);
// ps table from a /api/ps response; prefix filters case-sensitively.
std::string format_ps(const nlohmann::json& ps, const std::string& prefix, int64_t now_ns);
// `ollama show` sectioned output from a /api/show response.
std::string format_show_info(const nlohmann::json& show, bool verbose);
// PROCESSOR column of ps: "100% CPU", "100% GPU", "48%/52% CPU/GPU", "Unknown".
std::string format_processor(int64_t size, int64_t size_vram);

}  // namespace cli
