#include "cli/create_request.h"

#include <pwd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "util/error.h"
#include "util/sha256.h"

namespace cli {
namespace fs = std::filesystem;

namespace {

bool matches_glob(const std::string& name, const std::string& prefix, const std::string& suffix) {
  return name.size() >= prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Regular files in dir (and, with nested, one level down) whose name matches prefix*suffix.
std::vector<std::string> glob(const fs::path& dir, const std::string& prefix,
                              const std::string& suffix, bool nested) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file(ec) && matches_glob(n, prefix, suffix)) out.push_back(e.path().string());
    if (nested && e.is_directory(ec)) {
      for (auto& s : fs::directory_iterator(e.path(), ec)) {
        std::string sn = s.path().filename().string();
        if (s.is_regular_file(ec) && matches_glob(sn, prefix, suffix))
          out.push_back(s.path().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<LocalBlob> hash_all(const std::vector<std::string>& paths) {
  std::vector<LocalBlob> out;
  for (auto& p : paths) out.push_back({p, "sha256:" + util::sha256_file_hex(p)});
  return out;
}

// fileDigestMap: a file stands for itself, a directory for its model files.
std::vector<LocalBlob> digest_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return hash_all(files_for_model_dir(path));
  fs::path real = fs::canonical(path, ec);
  return hash_all({ec ? path : real.string()});
}

void merge(std::vector<LocalBlob>& into, const std::vector<LocalBlob>& more) {
  for (auto& b : more) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const LocalBlob& x) { return x.path == b.path; });
    if (it == into.end()) into.push_back(b);
  }
}

}  // namespace

std::string expand_path(const std::string& arg, const std::string& base_dir) {
  fs::path p;
  if (!arg.empty() && arg[0] == '/') {
    p = arg;
  } else if (!arg.empty() && arg[0] == '~') {
    std::string home, rest;
    if (arg == "~" || arg.rfind("~/", 0) == 0) {
      const char* h = std::getenv("HOME");
      home = h ? h : "";
      rest = arg.substr(1);
    } else {
      size_t slash = arg.find('/');
      std::string user = arg.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
      passwd* pw = getpwnam(user.c_str());
      if (!pw) throw util::Error("user: unknown user " + user);
      home = pw->pw_dir;
      rest = slash == std::string::npos ? "" : arg.substr(slash);
    }
    p = fs::path(home + rest);
  } else {
    p = fs::path(base_dir.empty() ? "." : base_dir) / arg;
  }
  return fs::absolute(p).lexically_normal().string();
}

std::vector<std::string> files_for_model_dir(const std::string& dir) {
  fs::path d(dir);
  std::vector<std::string> files;
  struct Pattern {
    const char* prefix;
    const char* suffix;
    bool nested;
  };
  // The first pattern group with matches wins.
  const std::vector<std::vector<Pattern>> groups = {
      {{"model", ".safetensors", false}, {"model", ".safetensors", true}},
      {{"consolidated", ".safetensors", false}},
      {{"pytorch_model", ".bin", false}},
      {{"consolidated", ".pth", false}},
      {{"", ".gguf", false}},
      {{"", ".bin", false}},
  };
  for (auto& g : groups) {
    std::set<std::string> found;
    for (auto& p : g)
      for (auto& f : glob(d, p.prefix, p.suffix, p.nested)) found.insert(f);
    if (!found.empty()) {
      files.assign(found.begin(), found.end());
      break;
    }
  }
  if (files.empty()) throw util::Error("no Modelfile or safetensors files found");
  std::set<std::string> extra;
  for (auto& f : glob(d, "", ".json", true)) extra.insert(f);
  for (auto& f : glob(d, "chat_template.jinja", "", false)) extra.insert(f);
  for (auto& f : glob(d, "tokenizer.model", "", true)) extra.insert(f);
  for (auto& f : extra)
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);

  std::vector<std::string> out;
  fs::path root = fs::canonical(d);
  for (auto& f : files) {
    fs::path real = fs::canonical(f);
    fs::path rel = real.lexically_relative(root);
    if (rel.empty() || rel.begin()->string() == "..") {
      std::string msg = "insecure path: " + rel.string();
      if (f.find("/.cache/") != std::string::npos) {
        msg +=
            " (the model files are links into a cache folder; download them with "
            "--local-dir so the directory holds the files themselves)";
      }
      throw util::Error(msg);
    }
    out.push_back(real.string());
  }
  return out;
}

std::map<std::string, std::string> relative_file_map(const std::vector<LocalBlob>& blobs) {
  std::map<std::string, std::string> out;
  if (blobs.empty()) return out;
  if (blobs.size() == 1) {
    out[fs::path(blobs[0].path).filename().string()] = blobs[0].digest;
    return out;
  }
  fs::path common = fs::path(blobs[0].path).parent_path();
  for (auto& b : blobs) {
    fs::path dir = fs::path(b.path).parent_path();
    while (!common.empty() && dir.lexically_relative(common).string().rfind("..", 0) == 0)
      common = common.parent_path();
  }
  for (auto& b : blobs)
    out[fs::path(b.path).lexically_relative(common).generic_string()] = b.digest;
  return out;
}

CreatePlan plan_create(const create::Modelfile& mf, const std::string& modelfile_dir) {
  create::ModelfileRequestParts parts = create::modelfile_request_parts(mf);
  CreatePlan plan;
  plan.warnings = parts.warnings;
  auto& req = plan.request;
  for (auto& arg : parts.model_args) {
    std::string path = expand_path(arg, modelfile_dir);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      req["from"] = arg;
      continue;
    }
    merge(plan.files, digest_path(path));
  }
  for (auto& arg : parts.adapter_args) plan.adapters = digest_path(expand_path(arg, modelfile_dir));
  for (auto& arg : parts.draft_args) {
    std::string path = expand_path(arg, modelfile_dir);
    for (auto& f : plan.files) {
      if (f.path == path) throw util::Error("DRAFT model cannot be the same path as FROM");
    }
    merge(plan.drafts, digest_path(path));
  }
  if (!parts.template_text.empty()) req["template"] = parts.template_text;
  if (!parts.system.empty()) req["system"] = parts.system;
  if (!parts.renderer.empty()) req["renderer"] = parts.renderer;
  if (!parts.parser.empty()) req["parser"] = parts.parser;
  if (!parts.requires_version.empty()) req["requires"] = parts.requires_version;
  if (!parts.licenses.empty()) req["license"] = parts.licenses;
  if (parts.parameters.is_object() && !parts.parameters.empty())
    req["parameters"] = parts.parameters;
  if (parts.messages.is_array() && !parts.messages.empty()) req["messages"] = parts.messages;
  return plan;
}

}  // namespace cli
