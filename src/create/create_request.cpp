// /api/create JSON body -> CreateRequest (field aliases and loose types as upstream accepts).
#include "create/create.h"
#include "util/error.h"

namespace create {
namespace {

std::string get_str(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string())
    throw util::bad_request(std::string("json: cannot unmarshal ") + it->type_name() +
                            " into Go struct field CreateRequest." + key + " of type string");
  return it->get<std::string>();
}

std::map<std::string, std::string> get_map(const nlohmann::json& body, const char* key) {
  std::map<std::string, std::string> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object())
    throw util::bad_request(std::string("json: cannot unmarshal ") + it->type_name() +
                            " into Go struct field CreateRequest." + key +
                            " of type map[string]string");
  for (auto e = it->begin(); e != it->end(); ++e) {
    if (!e.value().is_string())
      throw util::bad_request(std::string("json: cannot unmarshal ") + e.value().type_name() +
                              " into Go struct field CreateRequest." + key + " of type string");
    out[e.key()] = e.value().get<std::string>();
  }
  return out;
}

}  // namespace

CreateRequest create_request_from_json(const nlohmann::json& body) {
  if (!body.is_object()) throw util::bad_request("missing request body");
  CreateRequest r;
  r.model = get_str(body, "model");
  if (r.model.empty()) r.model = get_str(body, "name");
  r.from = get_str(body, "from");
  r.files = get_map(body, "files");
  r.adapters = get_map(body, "adapters");
  r.template_text = get_str(body, "template");
  r.system = get_str(body, "system");
  if (auto it = body.find("license"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      if (!it->get<std::string>().empty()) r.license.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& l : *it) {
        if (!l.is_string())
          throw util::bad_request("json: cannot unmarshal " + std::string(l.type_name()) +
                                  " into Go value of type string");
        r.license.push_back(l.get<std::string>());
      }
    } else {
      throw util::bad_request(std::string("unknown license type: ") + it->type_name());
    }
  }
  if (auto it = body.find("parameters"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw util::bad_request("parameters must be an object");
    r.parameters = *it;
  }
  if (auto it = body.find("messages"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw util::bad_request("messages must be an array");
    r.messages = *it;
  }
  r.quantize = get_str(body, "quantize");
  if (r.quantize.empty()) r.quantize = get_str(body, "quantization");
  r.requires_version = get_str(body, "requires");
  r.renderer = get_str(body, "renderer");
  r.parser = get_str(body, "parser");
  return r;
}

}  // namespace create
