// Entry point of the `ollama` command line (all subcommands).
#pragma once

namespace cli {
int main(int argc, char** argv);
}
