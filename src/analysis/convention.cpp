#include "clear/analysis/analysis.hpp"
#include "clear/util/error.hpp"

namespace clear {

const char* to_string(Convention c) {
  switch (c) {
    case Convention::full: return "full";
    case Convention::calflops: return "calflops";
    case Convention::kaplan: return "kaplan";
  }
  return "?";
}

Convention parse_convention(const std::string& text) {
  for (Convention c : {Convention::full, Convention::calflops, Convention::kaplan})
    if (text == to_string(c)) return c;
  throw Error("--convention: unknown convention '" + text + "'; expected one of full, calflops, kaplan");
}

}  // namespace clear
