#pragma once
// Data files compiled into the program (see cmake/embed.cmake), so no data folder is needed at run time.
#include <span>
#include <string_view>

namespace clear {

struct EmbeddedFile {
  std::string_view name;     // file name inside its data folder, e.g. "gpt2.json"
  std::string_view content;  // the file's bytes
};

std::span<const EmbeddedFile> embedded_files_zoo();     // data/zoo/*.json: the built-in model configs
std::span<const EmbeddedFile> embedded_files_carbon();  // data/carbon/*: grid carbon intensities

}  // namespace clear
