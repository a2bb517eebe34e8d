// `ollama serve`: reads the environment, opens the store, runs the HTTP server until a signal.
#pragma once

namespace server {
int serve_main();
}
