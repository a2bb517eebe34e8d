#include "cli/cli.h"

#include <cstdio>

namespace cli {
int main(int argc, char** argv) {
  std::fprintf(stderr, "Error: not implemented yet\n");
  return 1;
}
}  // namespace cli
