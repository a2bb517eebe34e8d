// Entry point of the `ollama` command line (all subcommands).
#pragma once

namespace cli {
// Runs `ollama serve` in this process (injected by main so cli/ never includes server/).
using ServeFn = int (*)();
int main(int argc, char** argv, ServeFn serve);
}  // namespace cli
