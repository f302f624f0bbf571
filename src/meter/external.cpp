// External meters.
//   external:[poll=1s,]cmd=COMMAND   COMMAND (run with /bin/sh -c) prints one line "<number> J"
//     (cumulative joules; read() runs it each time) or "<number> W" (power; a background thread
//     runs it every `poll` and integrates by the trapezoid rule between runs).
//   external:[stale=10s,]file=PATH   a file or FIFO that a wall meter or IPMI logger appends lines
//     "<unix_time_s> <number> J" or "<unix_time_s> <number> W" to; read() consumes the new lines.
//     J: cumulative joules; W: integrated between the lines' timestamps. The sample's time is the
//     latest line's timestamp mapped onto the steady clock. No line for `stale` → MeterError.
// Anything else on a line is an error naming the command or file and the line.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "clear/util/error.hpp"
#include "sensors.hpp"

namespace clear::meter {
namespace {

struct Reading {
  double value = 0;
  char unit = 'J';  // 'J' or 'W'
};

// "<number> J" / "<number>W"; false when malformed.
bool parse_reading(const std::string& text, Reading& r) {
  const char* begin = text.c_str();
  char* end = nullptr;
  r.value = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(r.value) || r.value < 0) return false;
  std::string unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(unit.begin());
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  if (unit != "J" && unit != "W") return false;
  r.unit = unit[0];
  return true;
}

double unix_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string run_command(const std::string& cmd) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw MeterError("external meter command '" + cmd + "': cannot start: " + std::strerror(errno));
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw MeterError("external meter command '" + cmd + "' failed (exit status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  return out;
}

Reading command_reading(const std::string& cmd) {
  std::string out = run_command(cmd);
  std::string line = out.substr(0, out.find('\n'));
  Reading r;
  if (!parse_reading(line, r))
    throw MeterError("external meter command '" + cmd + "' printed '" + line +
                     "'; expected one line '<number> J' (cumulative joules) or '<number> W' (watts)");
  return r;
}

class CommandSource : public EnergySource {
 public:
  CommandSource(std::string cmd, double poll_s) : cmd_(std::move(cmd)), poll_s_(poll_s) {
    Reading first = command_reading(cmd_);
    unit_ = first.unit;
    last_time_ = steady_now_s();
    if (unit_ == 'J') {
      first_j_ = last_j_ = first.value;
      traits_.update_period_s = 0;  // unknown until characterised
    } else {
      last_w_ = first.value;
      traits_.update_period_s = poll_s_;
      poller_ = std::thread([this] { poll_loop(); });
    }
  }
  ~CommandSource() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (poller_.joinable()) poller_.join();
  }
  std::string name() const override { return "external"; }
  bool measured() const override { return true; }
  std::string method() const override {
    return "external command '" + cmd_ + "' " +
           (unit_ == 'J' ? std::string("(cumulative joules, run at each read)")
                         : "(watts, run every " + std::to_string(poll_s_) + " s and integrated by the trapezoid rule)");
  }
  std::vector<EnergyDomain> domains() const override { return {{"external", "system", true}}; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() override {
    EnergySample s;
    s.in_total = {true};
    if (unit_ == 'J') {
      Reading r = command_reading(cmd_);
      s.time_s = steady_now_s();
      if (r.unit != 'J') throw MeterError("external meter command '" + cmd_ + "' switched from J to W");
      if (r.value < last_j_)
        throw MeterError("external meter command '" + cmd_ + "': cumulative joules went backwards (" +
                         std::to_string(last_j_) + " -> " + std::to_string(r.value) + ")");
      last_j_ = r.value;
      s.joules = {r.value - first_j_};
      return s;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.empty()) throw MeterError(error_);
    s.time_s = last_time_;
    s.joules = {integrated_j_};
    return s;
  }

 private:
  void poll_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::duration<double>(poll_s_), [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      Reading r;
      std::string err;
      try {
        r = command_reading(cmd_);
        if (r.unit != 'W') err = "external meter command '" + cmd_ + "' switched from W to J";
      } catch (const MeterError& e) {
        err = e.what();
      }
      double now = steady_now_s();
      lock.lock();
      if (!err.empty()) {
        error_ = err;  // kept: every later read() fails
        break;
      }
      integrated_j_ += 0.5 * (last_w_ + r.value) * (now - last_time_);
      last_w_ = r.value;
      last_time_ = now;
    }
  }

  std::string cmd_;
  double poll_s_;
  char unit_ = 'J';
  double first_j_ = 0, last_j_ = 0;
  SensorTraits traits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string error_;
  double last_w_ = 0, last_time_ = 0, integrated_j_ = 0;
  std::thread poller_;
};

class FileSource : public EnergySource {
 public:
  FileSource(std::string path, double stale_s) : path_(std::move(path)), stale_s_(stale_s) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
      int err = errno;
      throw MeterUnavailable(err == ENOENT ? "not present" : err == EACCES ? "permission denied" : "unusable",
                             "external meter file " + path_ + ": " + std::strerror(err));
    }
  }
  ~FileSource() override { ::close(fd_); }
  std::string name() const override { return "external"; }
  bool measured() const override { return true; }
  std::string method() const override {
    return "external meter file " + path_ + " (lines '<unix_time_s> <number> J|W'" +
           (unit_ ? std::string(", unit ") + unit_ : std::string()) + ")";
  }
  std::vector<EnergyDomain> domains() const override { return {{"external", "system", true}}; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() override {
    consume();
    if (!have_) throw MeterError("external meter file " + path_ + ": no sample yet");
    double age = unix_now_s() - last_ts_;
    if (age > stale_s_)
      throw MeterError("external meter file " + path_ + ": newest sample is " + std::to_string(age) +
                       " s old (more than stale=" + std::to_string(stale_s_) + " s): is the logger still running?");
    EnergySample s;
    s.time_s = last_ts_ - (unix_now_s() - steady_now_s());
    s.joules = {energy_j_};
    s.in_total = {true};
    return s;
  }

 private:
  void consume() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        pending_.append(buf, size_t(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        throw MeterError("external meter file " + path_ + ": read failed: " + std::strerror(errno));
      break;
    }
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      ++line_no_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      add_line(line);
    }
  }
  void add_line(const std::string& line) {
    auto bad = [&](const std::string& why) {
      return MeterError("external meter file " + path_ + " line " + std::to_string(line_no_) + " '" + line + "': " + why);
    };
    const char* begin = line.c_str();
    char* end = nullptr;
    double ts = std::strtod(begin, &end);
    Reading r;
    if (end == begin || !std::isfinite(ts) || !parse_reading(end, r))
      throw bad("expected '<unix_time_s> <number> J' or '<unix_time_s> <number> W'");
    if (unit_ && r.unit != unit_) throw bad("unit changed from " + std::string(1, unit_) + " to " + std::string(1, r.unit));
    if (have_ && ts < last_ts_) throw bad("timestamp goes backwards");
    if (!have_) {
      unit_ = r.unit;
      first_value_ = r.value;
    } else if (r.unit == 'J') {
      if (r.value < last_value_) throw bad("cumulative joules went backwards");
    } else {
      energy_j_ += 0.5 * (last_value_ + r.value) * (ts - last_ts_);
    }
    if (r.unit == 'J') energy_j_ = r.value - first_value_;
    last_value_ = r.value;
    last_ts_ = ts;
    have_ = true;
  }

  std::string path_;
  double stale_s_;
  int fd_ = -1;
  std::string pending_;
  int64_t line_no_ = 0;
  bool have_ = false;
  char unit_ = 0;
  double first_value_ = 0, last_value_ = 0, last_ts_ = 0, energy_j_ = 0;
  SensorTraits traits_;
};

}  // namespace

std::unique_ptr<EnergySource> open_external(const MeterSpec& spec) {
  spec.allow_only({"cmd", "file", "poll", "stale"});
  if (const auto* cmd = spec.find("cmd")) {
    double poll = spec.find("poll") ? parse_seconds(spec, "poll", *spec.find("poll")) : 1.0;
    return std::make_unique<CommandSource>(*cmd, poll);
  }
  if (const auto* file = spec.find("file")) {
    double stale = spec.find("stale") ? parse_seconds(spec, "stale", *spec.find("stale")) : 10.0;
    return std::make_unique<FileSource>(*file, stale);
  }
  throw Error("meter spec '" + spec.text + "': external needs cmd=COMMAND or file=PATH (as the last key)");
}

}  // namespace clear::meter
