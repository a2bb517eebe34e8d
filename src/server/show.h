// POST /api/show's content: Go-formatted parameters, the generated Modelfile, GGUF model_info
// and tensors, capabilities (§3.6, §7.5). Pure functions over a loaded store::Model.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/types.h"
#include "engine/card.h"
#include "store/model.h"

namespace gguf {
class File;
}

namespace server {

// Go strconv.Quote / %q: "a\"b\n" with \a \b \f \n \r \t \v \\ \" escapes, other control
// bytes and invalid UTF-8 as \xNN.
std::string go_quote(std::string_view s);
// Go %g with shortest precision, as %v / %#v print a float64: 0.7, 40, 1e+06, 1e-05.
std::string go_format_float(double v);
// One JSON value as Go's fmt prints the decoded value: `go_syntax` = %#v (strings quoted),
// else %v (strings bare). Numbers print as float64 (JSON numbers decode to float64 in Go).
std::string go_format_value(const nlohmann::ordered_json& v, bool go_syntax);

// The `parameters` text: one "%-30s %#v" line per value (list values one line each).
std::string format_show_parameters(const nlohmann::ordered_json& options);

// The `modelfile` text: the three header comments, a blank line, then FROM <blob path>,
// ADAPTER / DRAFT / projector FROM lines, TEMPLATE, SYSTEM, RENDERER, PARSER, PARAMETER,
// LICENSE, MESSAGE lines.
std::string render_show_modelfile(const store::Model& m);

// GGUF metadata as model_info: all keys except general.name and tokenizer.chat_template;
// arrays longer than 5 become [] unless verbose; general.parameter_count = sum of tensor
// element counts.
nlohmann::json gguf_model_info(const gguf::File& f, bool verbose);
std::vector<api::TensorSummary> gguf_tensor_summaries(const gguf::File& f);

// How a model uses gpt-oss's harmony format (§7.1, §11.3). Ollama's rule: family
// gptoss/gpt-oss and a TEMPLATE holding `<|start|>` and `<|end|>` -> the harmony parser (the
// prompt from that template), or config parser `harmony`. Here such a model's chat prompts
// come from the harmony renderer (the same text as Ollama's gpt-oss template), and so do those
// of a model with config renderer `harmony` and of a gpt-oss GGUF created without a TEMPLATE
// layer (its GGUF chat template, if any, is harmony's Jinja one). In capabilities.cpp.
struct HarmonyUse {
  bool render = false;  // chat prompts from the harmony renderer
  bool parse = false;   // output through the harmony parser
};
HarmonyUse harmony_use(const store::Model& m, const engine::ModelCard* card);

// Capabilities of a model (§7.5): config list, then completion or embedding (pooling_type),
// vision, tools (.Tools or harmony), insert (.Suffix), vision (projector), thinking (inferred
// tags, gpt-oss or harmony). In capabilities.cpp.
std::vector<std::string> model_capabilities(const store::Model& m, const engine::ModelCard* card);
// Thinking tags inferred from a Go template (§7.5): the text around a `.Thinking` reference
// inside a range over .Messages, e.g. {"<think>", "</think>"}; empty when not found or
// the template does not parse.
std::pair<std::string, std::string> infer_thinking_tags(std::string_view template_text);

// The whole response for a local model. `modified_at` from the manifest file.
api::ShowResponse build_show_response(store::Model m, const api::ShowRequest& req,
                                      const api::Timestamp& modified_at);

}  // namespace server
