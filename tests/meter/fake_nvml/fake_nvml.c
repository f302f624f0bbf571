/* A fake NVML for tests, loaded with dlopen by path. Steered by environment variables read at each
 * call, so one process can run several scenarios:
 *   FAKE_NVML_DEVICES       "energy:120,power:60" (default): per device, a total-energy counter or
 *                           power only (GetTotalEnergyConsumption -> NOT_SUPPORTED), and its watts
 *   FAKE_NVML_INIT_ERROR    nvmlInit_v2 returns this code
 *   FAKE_NVML_FAIL_AFTER    after this many successful energy/power queries, they return 15 (GPU lost)
 * Energy counters start at 1e6 + 1000·i mJ and grow at the device's watts on CLOCK_MONOTONIC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct fake_device* nvmlDevice_t;
struct fake_device { int index; };

static struct fake_device devices[8] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
static double init_time;
static long queries;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Device i's mode ('e' or 'p') and watts; returns the device count. */
static int device_info(int i, char* mode, double* watts) {
  const char* spec = getenv("FAKE_NVML_DEVICES");
  if (!spec) spec = "energy:120,power:60";
  int n = 0;
  const char* p = spec;
  while (*p && n < 8) {
    char m = *p;
    const char* colon = strchr(p, ':');
    double w = colon ? atof(colon + 1) : 0.0;
    if (n == i) { *mode = m; *watts = w; }
    n++;
    const char* comma = strchr(p, ',');
    if (!comma) break;
    p = comma + 1;
  }
  return n;
}

static int fail_now(void) {
  const char* f = getenv("FAKE_NVML_FAIL_AFTER");
  if (f && queries >= atol(f)) return 1;
  queries++;
  return 0;
}

nvmlReturn_t nvmlInit_v2(void) {
  const char* e = getenv("FAKE_NVML_INIT_ERROR");
  if (e && atoi(e) != 0) return atoi(e);
  init_time = now_s();
  queries = 0;
  return 0;
}
nvmlReturn_t nvmlShutdown(void) { return 0; }
const char* nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case 0: return "Success";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 6: return "Not Found";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
  }
}
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned* count) {
  char m; double w;
  *count = (unsigned)device_info(0, &m, &w);
  return 0;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t* d) {
  unsigned count;
  nvmlDeviceGetCount_v2(&count);
  if (i >= count) return 2;
  *d = &devices[i];
  return 0;
}
nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* d) {
  unsigned count;
  nvmlDeviceGetCount_v2(&count);
  for (unsigned i = 0; i < count; ++i) {
    char buf[64];
    snprintf(buf, sizeof buf, "GPU-fake-%04u", i);
    if (strcmp(buf, uuid) == 0) { *d = &devices[i]; return 0; }
  }
  return 6;
}
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus, nvmlDevice_t* d) {
  unsigned count;
  nvmlDeviceGetCount_v2(&count);
  for (unsigned i = 0; i < count; ++i) {
    char buf[64];
    snprintf(buf, sizeof buf, "00000000:%02x:00.0", i + 1);
    if (strcasecmp(buf, bus) == 0) { *d = &devices[i]; return 0; }
  }
  return 6;
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long* mj) {
  char m = 0; double w = 0;
  device_info(d->index, &m, &w);
  if (m != 'e') return 3;
  if (fail_now()) return 15;
  *mj = 1000000ULL + 1000ULL * (unsigned long long)d->index + (unsigned long long)(w * (now_s() - init_time) * 1000.0);
  return 0;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned* mw) {
  char m = 0; double w = 0;
  device_info(d->index, &m, &w);
  if (fail_now()) return 15;
  *mw = (unsigned)(w * 1000.0);
  return 0;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* name, unsigned len) {
  snprintf(name, len, "Fake GPU %d", d->index);
  return 0;
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* uuid, unsigned len) {
  snprintf(uuid, len, "GPU-fake-%04d", d->index);
  return 0;
}
nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned* index) {
  *index = (unsigned)d->index;
  return 0;
}
