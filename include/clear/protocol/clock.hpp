#pragma once
// The protocol's notion of time. The real one is the steady clock shared with every EnergySource
// (EnergySample::time_s); tests substitute a virtual clock so protocol logic runs in microseconds.
namespace clear {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual double now() = 0;              // seconds on the steady clock
  virtual void sleep(double seconds) = 0;
};

// std::chrono::steady_clock, seconds since its epoch.
Clock& steady_clock();

}  // namespace clear
