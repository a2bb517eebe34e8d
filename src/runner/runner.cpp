#include "runner/runner.h"

namespace runner {

CompletionResult Runner::complete(const CompletionRequest& req,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  const Cancelled& cancelled) {
  return complete(req, admit(req), on_chunk, cancelled);
}

CompletionResult Runner::complete(const CompletionRequest& req, Admission admission,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  const Cancelled& cancelled) {
  std::unique_ptr<Completion> c = start(req, std::move(admission), cancelled);
  CompletionChunk chunk;
  while (c->next(chunk))
    if (!on_chunk(chunk)) c->cancel();
  return c->result();
}

}  // namespace runner
