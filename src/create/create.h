// The create pipeline (server/create.go, §6.3): build a manifest from a base model or GGUF
// blobs plus text layers, write it to the store.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/store.h"

namespace create {

// The server's /api/create body, decoded (the server maps JSON -> this struct).
struct CreateRequest {
  std::string model;                            // target name ("model" or deprecated "name")
  std::string from;                             // base model name ("" = none)
  std::map<std::string, std::string> files;     // relpath -> "sha256:<hex>" (blobs present)
  std::map<std::string, std::string> adapters;  // relpath -> digest
  std::string template_text;                    // "" = keep/none
  std::string system;                           // "" = keep
  std::vector<std::string> license;             // each adds a license layer
  nlohmann::json parameters;                    // object or null; merged over the base params
  nlohmann::json messages;                      // array of {role, content} or null
  std::string quantize;                         // "" = none ("quantize" or "quantization")
  std::string requires_version;                 // JSON "requires"
  std::string renderer;
  std::string parser;
};

// One progress line, as streamed by /api/create.
struct Progress {
  std::string status;
  std::string digest;  // only for quantize progress
  int64_t total = 0;
  int64_t completed = 0;
};

using ProgressFn = std::function<void(const Progress&)>;

struct CreateOptions {
  bool noprune = false;  // OLLAMA_NOPRUNE: keep blobs the previous manifest used
  // Parses a TEMPLATE (the server passes the prompt/ Go-template parser; create/ does not link
  // prompt/). Throw with the parse message; create turns it into 400 "template error: <msg>".
  // Unset = templates are stored unchecked.
  std::function<void(const std::string& template_text)> validate_template;
  // Fetches a missing base model (the server passes its registry pull, which streams pull
  // progress through `status`). Unset = a missing base is 404 "model '<from>' not found".
  std::function<void(const store::ModelName& name, const ProgressFn& status)> pull_model;
};

// Runs the pipeline. Emits "parsing GGUF", "using existing layer sha256:...",
// "creating new layer sha256:...", "writing manifest", "success". Throws util::Error with
// Ollama's texts and statuses, e.g. 400 "invalid model name",
// "neither 'from' or 'files' was specified", "invalid digest format",
// "file path must be relative", "only one adapter is currently supported",
// "supplied file was not in GGUF format", 404 "model 'x' not found" (base missing; pulling
// is not wired yet). Nothing is written to the store before all inputs are validated.
void create_model(store::Store& st, const CreateRequest& req, const ProgressFn& status,
                  const CreateOptions& opts = {});

// Decodes a /api/create JSON body into CreateRequest (model/name, quantize/quantization,
// license string or list, ...). Throws util::bad_request on wrong types.
CreateRequest create_request_from_json(const nlohmann::json& body);

}  // namespace create
