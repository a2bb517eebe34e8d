// Client side of `ollama create`: Modelfile -> /api/create body plus the local files to upload.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "create/modelfile.h"

namespace cli {

// A local file the server needs, identified by its digest.
struct LocalBlob {
  std::string path;    // absolute, symlinks resolved
  std::string digest;  // "sha256:<hex>"
};

struct CreatePlan {
  nlohmann::json request = nlohmann::json::object();  // everything but the file maps
  std::vector<LocalBlob> files;                       // FROM files (model GGUF, projector, ...)
  std::vector<LocalBlob> adapters;                    // ADAPTER files
  std::vector<LocalBlob> drafts;                      // DRAFT files
  std::vector<std::string> warnings;
};

// Resolves a Modelfile path argument: absolute as is; "~" / "~user" expanded; otherwise
// relative to `base_dir`. Returns an absolute, lexically cleaned path.
std::string expand_path(const std::string& arg, const std::string& base_dir);

// The files a directory FROM/ADAPTER stands for (§6.2 priority: model*.safetensors,
// consolidated*.safetensors, pytorch_model*.bin, consolidated*.pth, *.gguf, *.bin; plus
// *.json, chat_template.jinja, tokenizer.model). Throws "no Modelfile or safetensors files
// found" / "insecure path: <rel>".
std::vector<std::string> files_for_model_dir(const std::string& dir);

// The `files` map keys: paths relative to the common parent directory of all files, with
// '/' separators (the base name for a single file).
std::map<std::string, std::string> relative_file_map(const std::vector<LocalBlob>& blobs);

// Builds the plan: FROM args that exist locally are hashed into `files`, others become
// `from`; other instructions fill template/system/license/parameters/messages/...
CreatePlan plan_create(const create::Modelfile& mf, const std::string& modelfile_dir);

}  // namespace cli
