#include "runner/runner.h"

namespace runner {

CompletionResult Runner::complete(const CompletionRequest& req,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  std::stop_token cancel) {
  return complete(req, admit(req), on_chunk, std::move(cancel));
}

CompletionResult Runner::complete(const CompletionRequest& req, Admission admission,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  std::stop_token cancel) {
  std::unique_ptr<Completion> c = start(req, std::move(admission), std::move(cancel));
  CompletionChunk chunk;
  while (c->next(chunk))
    if (!on_chunk(chunk)) c->cancel();
  return c->result();
}

}  // namespace runner
