// The `ollama` binary: the CLI, with `serve` running the server in this process.
#include "cli/cli.h"

int main(int argc, char** argv) { return cli::main(argc, argv); }
