// Model loading: map the GGUF, build the architecture (binding and checking every tensor),
// load the tokenizer, start the thread pool.
#include <chrono>

#include "engine/engine.h"
#include "engine/model/arch.h"
#include "engine/model_impl.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine {

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->file = gguf::File::open(path);
  const gguf::File& file = *impl->file;  // read-only until the arrays are released below
  impl->arch = model::load_arch(file);

  ModelInfo& info = impl->info;
  info.arch = file.architecture();
  info.name = file.get_string("general.name", "");
  info.n_vocab = impl->arch->shape().n_vocab;
  impl->arch->describe(info);
  info.n_expert = impl->arch->shape().n_expert;
  info.n_expert_used = impl->arch->shape().n_expert_used;
  const bool untied = file.tensor("output.weight") != nullptr;
  for (const gguf::TensorInfo& t : file.tensors()) {
    info.n_params += static_cast<uint64_t>(t.n_elements());
    info.weight_bytes += t.n_bytes;
    if (untied && t.name == "token_embd.weight" && t.dims.size() >= 2 && t.dims[1] > 0) {
      info.active_weight_bytes += t.n_bytes / static_cast<uint64_t>(t.dims[1]);
    } else if (info.n_expert > 0 && t.dims.size() >= 2 && t.dims.back() == info.n_expert &&
               t.name.find("_exps.") != std::string::npos) {
      info.active_weight_bytes += t.n_bytes / static_cast<uint64_t>(info.n_expert) *
                                  static_cast<uint64_t>(info.n_expert_used);
    } else {
      info.active_weight_bytes += t.n_bytes;
    }
  }
  if (opts.load_tokenizer && file.has("tokenizer.ggml.model")) {
    impl->tok = std::make_unique<tokenizer::Tokenizer>(file);
  }
  // The model keeps its File for metadata lookups; the vocabulary arrays now live in the
  // tokenizer (or are not wanted), and as decoded Values they would cost ~60 MiB resident.
  impl->file->release_arrays("tokenizer.ggml.");
  const int n_threads = opts.n_threads > 0 ? opts.n_threads : util::physical_cores();
  impl->pool = std::make_unique<util::ThreadPool>(n_threads);
  impl->serial = std::make_unique<util::ThreadPool>(1);
  impl->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

std::vector<std::string> Model::supported_architectures() {
  std::vector<std::string> names;
  for (const model::ArchEntry& e : model::arch_registry()) names.emplace_back(e.name);
  return names;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->info; }
int Model::n_threads() const { return impl_->pool->size(); }
double Model::load_seconds() const { return impl_->load_seconds; }
bool Model::has_tokenizer() const { return impl_->tok != nullptr; }
const tokenizer::Tokenizer& Model::tokenizer() const {
  if (!impl_->tok) {
    throw util::Error(impl_->file->path() + ": model loaded without a tokenizer",
                      util::ErrorKind::kUnsupported);
  }
  return *impl_->tok;
}
const gguf::File& Model::file() const { return *impl_->file; }
util::ThreadPool& Model::pool() const { return *impl_->pool; }

}  // namespace engine
