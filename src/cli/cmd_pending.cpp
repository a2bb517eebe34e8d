// Commands whose implementation lands with later work (sign-in).
#include "cli/commands.h"
#include "util/error.h"

namespace cli {

int cmd_signin(const Invocation&) { throw util::Error("'ollama signin' is not implemented yet"); }
int cmd_signout(const Invocation&) { throw util::Error("'ollama signout' is not implemented yet"); }

}  // namespace cli
