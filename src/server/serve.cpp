#include "server/serve.h"

#include <cstdio>

namespace server {
int serve_main() {
  std::fprintf(stderr, "Error: serve not implemented yet\n");
  return 1;
}
}  // namespace server
