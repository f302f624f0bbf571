// A Hugging Face checkpoint on disk: model.safetensors, or shards listed in
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor: shard file}}).
#include <set>

#include <nlohmann/json.hpp>

#include "clear/engine/safetensors.hpp"
#include "clear/util/error.hpp"
#include "clear/util/files.hpp"

namespace clear::safetensors {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

Checkpoint::Checkpoint(const std::filesystem::path& path) : source_(path) {
  namespace fs = std::filesystem;
  // Non-throwing queries: an unreadable path is reported by the open below, naming it.
  auto exists = [](const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
  };
  std::error_code ec;
  fs::path single, index;
  if (fs::is_directory(path, ec)) {
    if (exists(path / kIndexFile)) index = path / kIndexFile;
    else if (exists(path / kSingleFile)) single = path / kSingleFile;
    else {
      std::string hint;
      if (exists(path / "pytorch_model.bin") || exists(path / "pytorch_model.bin.index.json"))
        hint = " (pytorch_model.bin is not read: convert it to safetensors)";
      throw Error(path.string() + ": no " + kSingleFile + " or " + kIndexFile + " in the folder" + hint);
    }
  } else if (ends_with(path.filename().string(), ".index.json")) {
    index = path;
  } else if (exists(path)) {
    single = path;
  } else {
    throw Error(path.string() + ": no such file or folder");
  }

  if (!single.empty()) {
    files_.push_back(std::make_unique<MappedFile>(single));
    for (const auto& t : files_.back()->header().tensors) tensors_[t.name] = Entry{files_.back().get(), &t};
    description_ = single.string();
    return;
  }

  // Sharded.
  const std::string where = index.string();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
  if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
    throw Error(where + ": expected an object with a 'weight_map' object (tensor name -> shard file)");
  std::map<std::string, std::string> weight_map;
  std::set<std::string> shard_names;
  for (const auto& [tensor, shard] : json["weight_map"].items()) {
    if (!shard.is_string()) throw Error(where + ": weight_map['" + tensor + "'] must be a file name");
    const std::string file = shard.get<std::string>();
    // Shards live beside the index: a path that leaves the folder is refused.
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      throw Error(where + ": weight_map['" + tensor + "'] = '" + file + "' is not a file name in the folder");
    weight_map[tensor] = file;
    shard_names.insert(file);
  }
  const fs::path folder = index.parent_path();
  std::map<std::string, const MappedFile*> shards;
  for (const auto& name : shard_names) {
    const fs::path shard = folder / name;
    if (!exists(shard)) {
      std::string first;
      for (const auto& [t, f] : weight_map)
        if (f == name) { first = t; break; }
      throw Error(where + ": shard " + shard.string() + " (holding tensor '" + first + "' and others) does not exist");
    }
    files_.push_back(std::make_unique<MappedFile>(shard));
    shards[name] = files_.back().get();
  }
  for (const auto& [name, file] : shards) {
    for (const auto& t : file->header().tensors) {
      auto it = weight_map.find(t.name);
      if (it == weight_map.end())
        throw Error(file->path().string() + ": tensor '" + t.name + "' is not listed in " + where);
      if (it->second != name)
        throw Error(file->path().string() + ": tensor '" + t.name + "' is listed in " + where + " under shard " +
                    it->second);
      tensors_[t.name] = Entry{file, &t};
    }
  }
  for (const auto& [tensor, file] : weight_map)
    if (!tensors_.count(tensor))
      throw Error(where + ": tensor '" + tensor + "' is listed under shard " + file + " but " +
                  (folder / file).string() + " does not hold it");
  description_ = where + " (" + std::to_string(shards.size()) + " shards)";
}

Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

const Checkpoint::Entry* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::string Checkpoint::files_description() const { return description_; }

}  // namespace clear::safetensors
