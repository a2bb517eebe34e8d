// `ollama create`: parse the Modelfile, upload local files as blobs, stream /api/create.
#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/create_request.h"
#include "cli/progress.h"
#include "client/client.h"
#include "create/modelfile.h"
#include "store/name.h"
#include "util/error.h"

namespace cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Uploads one file unless the server has it, showing "copying file <digest> NN%".
void upload(const client::Client& c, const LocalBlob& blob, Progress& p) {
  Spinner* s = p.add_spinner("copying file " + blob.digest + " 0%");
  if (!c.blob_exists(blob.digest)) {
    auto last = Clock::now();
    c.upload_blob(blob.digest, blob.path, [&](int64_t sent, int64_t total) {
      auto now = Clock::now();
      if (now - last < std::chrono::milliseconds(60) || total <= 0) return;
      last = now;
      p.set_message(s,
                    "copying file " + blob.digest + " " + std::to_string(100 * sent / total) + "%");
    });
  }
  p.set_message(s, "copying file " + blob.digest + " 100%");
  p.stop_spinner(s);
}

// Uploads in parallel like Ollama (one worker per core but one, at least one); the first
// failure is rethrown once every worker has stopped.
void upload_all(const client::Client& c, const std::vector<const LocalBlob*>& blobs, Progress& p) {
  unsigned workers = std::max(1u, std::thread::hardware_concurrency() - 1);
  workers = std::min<unsigned>(workers, static_cast<unsigned>(blobs.size()));
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto work = [&] {
    for (size_t i; (i = next++) < blobs.size();) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (error) return;
      }
      try {
        upload(c, *blobs[i], p);
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < workers; i++) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw util::Error("open " + path + ": permission denied");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int cmd_create(const Invocation& inv) {
  const std::string& name = inv.args[0];
  if (!store::ModelName::parse(name).is_valid()) throw util::Error("invalid model name: " + name);
  if (inv.flag("experimental"))
    throw util::Error("experimental safetensors model creation is not supported");

  Progress p;
  // No -f and no ./Modelfile: the current directory is the model ("FROM .").
  std::string text, dir = ".";
  std::string file = inv.value("file");
  fs::path abs = fs::absolute(file.empty() ? "Modelfile" : file);
  std::error_code ec;
  if (!fs::exists(abs, ec)) {
    if (!file.empty()) throw util::Error("specified Modelfile wasn't found");
    text = "FROM .\n";
  } else {
    text = read_file(abs.string());
    dir = abs.parent_path().string();
  }
  create::Modelfile mf = create::parse_modelfile(text);

  Spinner* gathering = p.add_spinner("gathering model components");
  CreatePlan plan = plan_create(mf, dir);
  p.stop_spinner(gathering);
  for (auto& w : plan.warnings) std::printf("%s\n", w.c_str());

  json req = plan.request;
  req["model"] = name;
  if (std::string q = inv.value("quantize"); !q.empty()) req["quantize"] = q;
  if (std::string q = inv.value("draft-quantize"); !q.empty()) req["draft_quantize"] = q;

  client::Client c = client::Client::from_env();
  std::vector<const LocalBlob*> blobs;
  for (auto* group : {&plan.files, &plan.adapters, &plan.drafts})
    for (auto& blob : *group) blobs.push_back(&blob);
  upload_all(c, blobs, p);
  if (!plan.files.empty()) req["files"] = relative_file_map(plan.files);
  if (!plan.adapters.empty()) req["adapters"] = relative_file_map(plan.adapters);
  if (!plan.drafts.empty()) req["draft_files"] = relative_file_map(plan.drafts);

  std::map<std::string, Bar*> bars;
  std::string status;
  Spinner* spinner = nullptr;
  c.stream("POST", "/api/create", req, [&](const json& r) {
    std::string st = r.value("status", "");
    std::string digest = r.value("digest", "");
    if (!digest.empty()) {
      auto it = bars.find(digest);
      if (it == bars.end()) {
        std::string label =
            st.empty() && digest.size() >= 19 ? "pulling " + digest.substr(7, 12) + "..." : st;
        it = bars.emplace(digest, p.add_bar(label, r.value("total", int64_t{0}),
                                            r.value("completed", int64_t{0})))
                 .first;
      }
      p.set_bar(it->second, r.value("completed", int64_t{0}));
    } else if (st != status) {
      if (spinner) p.stop_spinner(spinner);
      status = st;
      spinner = p.add_spinner(status);
    }
  });
  p.stop();
  return 0;
}

}  // namespace cli
