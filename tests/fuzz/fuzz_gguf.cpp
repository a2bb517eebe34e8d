// libFuzzer target: gguf::File::open on arbitrary bytes, then what a loader and /api/show read.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/gguf/gguf.h"
#include "engine/gguf/summary.h"
#include "fuzz_util.h"

namespace {

// The reader only opens paths, so each input goes through one scratch file, in RAM when /dev/shm
// is writable.
const std::string& scratch_path() {
  static const std::string path = [] {
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "";
    if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    return dir + "/fuzz_gguf." + std::to_string(getpid()) + ".bin";
  }();
  return path;
}

void write_scratch(const uint8_t* data, size_t size) {
  int fd = ::open(scratch_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();  // the harness itself is broken, not the code under test
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

void touch_value(const gguf::Value& v) {
  fuzz::expect_ok_or_error([&] { (void)v.as_int(); });
  fuzz::expect_ok_or_error([&] { (void)v.as_double(); });
  fuzz::expect_ok_or_error([&] { (void)v.as_bool(); });
  fuzz::expect_ok_or_error([&] { (void)v.as_string().size(); });
  (void)v.is_number();
  if (!(v == v)) __builtin_trap();  // NaN equals NaN too (Value::operator==)
  size_t n = 0;
  for (const gguf::Value& e : v.array) {
    if (++n > 4) break;  // a loader converts whole arrays through the typed getters below
    touch_value(e);
  }
}

// What engine/model and the tokenizer ask of a file, whatever its architecture.
void read_like_a_loader(gguf::File& f) {
  std::string arch;  // architecture() throws when the key holds a non-string, like get_string
  fuzz::expect_ok_or_error([&] { arch = f.architecture(); });
  for (const char* key : {"context_length", "embedding_length", "block_count",
                          "feed_forward_length", "attention.head_count", "attention.head_count_kv",
                          "rope.dimension_count", "expert_count"}) {
    fuzz::expect_ok_or_error([&] { (void)f.get_int(arch + "." + key); });
  }
  for (const char* key : {"rope.freq_base", "attention.layer_norm_rms_epsilon",
                          "rope.scaling.factor", "final_logit_softcapping"}) {
    fuzz::expect_ok_or_error([&] { (void)f.get_float(arch + "." + key); });
  }
  fuzz::expect_ok_or_error([&] { (void)f.get_bool("tokenizer.ggml.add_bos_token"); });
  fuzz::expect_ok_or_error([&] { (void)f.get_string("tokenizer.ggml.model", ""); });
  fuzz::expect_ok_or_error([&] { (void)f.get_string("tokenizer.chat_template"); });
  fuzz::expect_ok_or_error([&] { (void)f.get_int("tokenizer.ggml.bos_token_id", -1); });
  fuzz::expect_ok_or_error([&] { (void)f.get_string_array("tokenizer.ggml.tokens"); });
  fuzz::expect_ok_or_error([&] { (void)f.get_string_array("tokenizer.ggml.merges"); });
  fuzz::expect_ok_or_error([&] { (void)f.get_float_array("tokenizer.ggml.scores"); });
  fuzz::expect_ok_or_error([&] { (void)f.get_int_array("tokenizer.ggml.token_type"); });

  // Every key through every typed getter: each must answer or throw, never crash.
  for (const auto& entry : f.metadata()) {
    const std::string& key = entry.first;  // clang 14 lambdas cannot capture structured bindings
    const gguf::Value& value = entry.second;
    if (f.find(key) != &value) __builtin_trap();  // the index must agree with the list
    touch_value(value);
    fuzz::expect_ok_or_error([&] { (void)f.get_int(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_float(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_bool(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_string(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_int_array(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_float_array(key); });
    fuzz::expect_ok_or_error([&] { (void)f.get_string_array(key); });
  }

  // A validated tensor lies inside the file; read its first and last byte as a kernel would.
  const uint8_t* file_end =
      f.data_section() ? f.data_section() - f.data_offset() + f.file_size() : nullptr;
  volatile uint8_t sink = 0;
  for (const gguf::TensorInfo& t : f.tensors()) {
    if (f.tensor(t.name) != &t) __builtin_trap();
    (void)t.n_elements();
    if (t.n_bytes == 0) continue;
    if (!t.data || t.data + t.n_bytes > file_end) __builtin_trap();
    sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }

  fuzz::expect_ok_or_error([&] { (void)gguf::summarize(f); });
  fuzz::expect_ok_or_error([&] { (void)gguf::model_info(f, false); });
  fuzz::expect_ok_or_error([&] { (void)gguf::model_info(f, true); });
  f.release_arrays("tokenizer.ggml.");
  if (f.find("tokenizer.ggml.tokens") &&
      f.find("tokenizer.ggml.tokens")->type == gguf::ValueType::kArray) {
    __builtin_trap();  // released arrays must be gone
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_scratch(data, size);
  std::unique_ptr<gguf::File> f;
  // Rejection (a FormatError) is the expected outcome for most inputs.
  if (!fuzz::expect_ok_or_error([&] { f = gguf::File::open(scratch_path()); })) return 0;
  read_like_a_loader(*f);
  return 0;
}
