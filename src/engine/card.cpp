#include "engine/card.h"

#include <sys/stat.h>

#include <list>
#include <map>
#include <mutex>

#include "engine/embed.h"
#include "engine/gguf/gguf.h"

namespace engine {
namespace {

// Cards by path, with the size and modification time they were read at; the least recently
// used goes past kMaxCards.
struct Cache {
  struct Entry {
    std::shared_ptr<const ModelCard> card;
    int64_t size = 0, mtime_ns = 0;
    std::list<std::string>::iterator lru;
  };
  static constexpr size_t kMaxCards = 64;
  std::mutex mu;
  std::map<std::string, Entry> by_path;
  std::list<std::string> lru;  // most recent first
};

Cache& cache() {
  static Cache c;
  return c;
}

std::shared_ptr<const ModelCard> read_card(const std::string& path) {
  auto f = gguf::File::open_metadata(path);
  auto card = std::make_shared<ModelCard>();
  card->path = path;
  card->arch = f->architecture();
  card->file_size = f->file_size();
  const std::string& a = card->arch;
  card->n_layer = f->get_int(a + ".block_count", 0);
  card->n_embd = f->get_int(a + ".embedding_length", 0);
  card->n_head = f->get_int(a + ".attention.head_count", 1);
  card->n_head_kv = f->get_int(a + ".attention.head_count_kv", card->n_head);
  card->key_length =
      f->get_int(a + ".attention.key_length", card->n_head ? card->n_embd / card->n_head : 0);
  card->n_ctx_train = f->get_int(a + ".context_length", 0);
  if (f->has(a + ".pooling_type"))
    card->pooling = static_cast<int>(f->get_int(a + ".pooling_type", 0));
  card->vision = f->has(a + ".vision.block_count");
  card->audio = f->has(a + ".audio.block_count");
  card->chat_template = f->get_string("tokenizer.chat_template", "");
  card->split_count = f->get_int("split.count", 1);
  const std::string type = f->get_string("general.type", "");
  if (type == "adapter") {
    card->role = FileRole::kAdapter;
  } else if (type == "projector" || type == "mmproj" ||
             (card->vision && !f->has(a + ".block_count")) ||
             (a == "clip" && (f->get_bool("clip.has_vision_encoder").value_or(false) ||
                              f->get_bool("clip.has_audio_encoder").value_or(false)))) {
    card->role = FileRole::kProjector;
  }
  if (Embedder::is_encoder(a))
    card->kind = card->pooling == static_cast<int>(Pooling::kRank) ? ModelKind::kReranker
                                                                   : ModelKind::kEncoder;
  return card;
}

}  // namespace

std::vector<std::string> ModelCard::capabilities() const {
  std::vector<std::string> caps;
  caps.push_back(pooling >= 0 ? "embedding" : "completion");
  if (vision) caps.push_back("vision");
  if (audio) caps.push_back("audio");
  return caps;
}

uint64_t ModelCard::kv_bytes_per_token(KvType kv) const {
  if (kind != ModelKind::kDecoder) return 0;
  const uint64_t per = kv == KvType::kF16 ? 2 : 4;
  return 2ull * static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(n_head_kv * key_length) *
         per;
}

uint64_t ModelCard::memory_bytes(int num_ctx, int parallel, KvType kv) const {
  return file_size +
         kv_bytes_per_token(kv) * static_cast<uint64_t>(num_ctx) * static_cast<uint64_t>(parallel) +
         (64ull << 20);
}

std::shared_ptr<const ModelCard> inspect(const std::string& path) {
  struct stat st {};
  const bool known = ::stat(path.c_str(), &st) == 0;
  const int64_t size = known ? st.st_size : -1;
  const int64_t mtime = known ? st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec : -1;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> l(c.mu);
    auto it = c.by_path.find(path);
    if (it != c.by_path.end() && it->second.size == size && it->second.mtime_ns == mtime) {
      c.lru.splice(c.lru.begin(), c.lru, it->second.lru);
      return it->second.card;
    }
  }
  std::shared_ptr<const ModelCard> card = read_card(path);  // outside the lock: file I/O
  std::lock_guard<std::mutex> l(c.mu);
  auto it = c.by_path.find(path);
  if (it != c.by_path.end()) {
    c.lru.erase(it->second.lru);
    c.by_path.erase(it);
  }
  c.lru.push_front(path);
  c.by_path[path] = {card, size, mtime, c.lru.begin()};
  while (c.by_path.size() > Cache::kMaxCards) {
    c.by_path.erase(c.lru.back());
    c.lru.pop_back();
  }
  return card;
}

}  // namespace engine
