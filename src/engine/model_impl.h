// Model::Impl: what a loaded model holds (engine-internal; contexts read the arch from it).
#pragma once
#include <memory>

#include "engine/engine.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/thread_pool.h"

namespace engine {

struct Model::Impl {
  std::unique_ptr<gguf::File> file;  // the mapping the weights point into
  std::unique_ptr<model::Arch> arch;
  ModelInfo info;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::unique_ptr<util::ThreadPool> pool;
  std::unique_ptr<util::ThreadPool> serial;  // 1 thread: runs small blocks inline
  double load_seconds = 0;
};

}  // namespace engine
