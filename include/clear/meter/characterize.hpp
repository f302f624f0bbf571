#pragma once
// Characterisation: measure, rather than assume, what a source's sensor can resolve.
//   update period  median time between counter changes, polling while the machine idles;
//   resolution     smallest non-zero difference between counter steps (every step is a whole
//                  number of quanta, so differences between steps expose one quantum once the
//                  power varies; for the emulated sensor the characteriser varies it through the
//                  observer); an upper bound when the steps never differ (flagged);
//   read overhead  mean wall time of one read();
//   idle power     mean and sd of the power over N equal idle windows.
// Results are cached per machine (cache_dir()/meter_traits.json, written atomically), keyed by
// hostname, CPU model, source name and method.
#include <optional>
#include <string>

#include "clear/meter/source.hpp"

namespace clear {

struct CharacterizeOptions {
  double seconds = 5.0;    // total time spent (idle phase ~60%, varying-load phase ~30%, reads ~10%)
  int idle_windows = 5;
  double poll_s = 100e-6;  // sleep between polls while watching for counter changes
};

struct Characterization {
  SensorTraits traits;           // characterised = true
  int changes_seen = 0;          // counter changes the update period is the median over
  int distinct_steps = 0;        // distinct step sizes seen (1: resolution is only an upper bound)
  bool resolution_upper_bound = false;
  std::string note;              // anything the reader should know (too few changes, ...)
};

// Throws MeterError when the source fails, clear::Error when it never changes during the run.
Characterization characterize(EnergySource& source, const CharacterizeOptions& options = {});

// The key under which a source's traits are cached: "host|cpu model|name|method".
std::string traits_cache_key(const EnergySource& source);
std::optional<SensorTraits> cached_traits(const EnergySource& source);
void store_traits(const EnergySource& source, const SensorTraits& traits);

}  // namespace clear
