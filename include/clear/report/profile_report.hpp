#pragma once
// Rendering of a profile (a RunRecord and its ComponentResults) for `dissect profile` and
// `dissect results show|export`: one table of components, one of model figures, or JSON with the
// stable field names of docs/PROTOCOL.md.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clear/record/records.hpp"
#include "clear/report/table.hpp"

namespace clear {

// Rows in graph order: the model first, then each kind row before its instances.
std::vector<ComponentResult> order_rows(std::vector<ComponentResult> rows);
Table component_table(const std::vector<ComponentResult>& rows);
Table summary_table(const RunRecord& run);
// { "run": RunRecord, "components": [ComponentResult...] } (+ "trials" when given).
nlohmann::json profile_json(const RunRecord& run, const std::vector<ComponentResult>& rows,
                            const std::vector<TrialRecord>* trials = nullptr);
// Full rendering in a format: table/md print the header lines, the components and the summary;
// csv prints the component rows only; json prints profile_json.
std::string render_profile(const RunRecord& run, const std::vector<ComponentResult>& rows, Format format);

}  // namespace clear
