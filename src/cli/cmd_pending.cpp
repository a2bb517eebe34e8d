// Commands whose implementation lands with later work (run, pull, push, sign-in).
#include "cli/commands.h"
#include "util/error.h"

namespace cli {

int cmd_run(const Invocation&) { throw util::Error("'ollama run' is not implemented yet"); }
int cmd_pull(const Invocation&) { throw util::Error("'ollama pull' is not implemented yet"); }
int cmd_push(const Invocation&) { throw util::Error("'ollama push' is not implemented yet"); }
int cmd_signin(const Invocation&) { throw util::Error("'ollama signin' is not implemented yet"); }
int cmd_signout(const Invocation&) { throw util::Error("'ollama signout' is not implemented yet"); }

}  // namespace cli
