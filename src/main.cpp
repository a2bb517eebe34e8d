// The `ollama` binary: the CLI, with `serve` running the server in this same process.
#include "cli/cli.h"
#include "server/serve.h"

int main(int argc, char** argv) { return cli::main(argc, argv, server::serve_main); }
