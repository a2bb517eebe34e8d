#include "cli/cli.h"

#include <cstdio>
#include <cstring>

namespace cli {
int main(int argc, char** argv, ServeFn serve) {
  if (argc > 1 && (std::strcmp(argv[1], "serve") == 0 || std::strcmp(argv[1], "start") == 0))
    return serve();
  std::fprintf(stderr, "Error: not implemented yet\n");
  return 1;
}
}  // namespace cli
