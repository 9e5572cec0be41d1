// fake_nvml: a stand-in libnvidia-ml.so.1 for tests, driven by a text fixture.
//
// Built as libnvidia-ml.so.1 (testing/CMakeLists.txt) and exporting the NVML entry points
// declared in src/baton/agent/gpu/nvml_types.h, so NvmlGpuDiscovery can dlopen it exactly
// as it opens the real driver library. The fixture is the file named by the environment
// variable BATON_FAKE_NVML_FIXTURE. It is read at every nvmlInit_v2 and re-read whenever
// it changes on disk (another inode, size or modification time), so a test changes
// telemetry, fails calls or injects events while an agent runs: write a new file next to
// it and rename() it over the fixture.
//
// Fixture format (one record per line; '#' starts a comment; fields are key=value,
// separated by spaces; a value with spaces is written in double quotes). Records:
//
//   system driver=550.54.15 [fail=<call>:<ERROR>[,...]]
//   gpu name="NVIDIA H100 80GB HBM3" uuid=GPU-... memory_mib=81559 cc=9.0
//       power_mw=700000 mig=on|off pci=00000000:18:00.0 [numa=0] [pcie=<switch label>]
//       [nvlink=<remote bus id>[*<links>],...]   (one remote per link; a GPU's bus id or
//                                                 any other id, which is an NVSwitch)
//       [util=%] [mem_util=%] [mem_used_mib=] [temp_c=] [power_draw_mw=] [sm_clock=MHz]
//       [mem_clock=MHz] [ecc_sbe=] [ecc_dbe=] [throttle=<bits, 0x.. or decimal>]
//       [retired_pending=yes|no] [procs=<pid>:<MiB>,...] [fail=<call>:<ERROR>,...]
//   mig uuid=MIG-... profile=1g.10gb memory_mib=9728 gi=7 ci=0     (a MIG device of the
//                                                                   gpu record above it)
//   event id=<n> gpu=<index> xid=<n> | event id=<n> gpu=<index> type=ecc_sbe|ecc_dbe
//
// (each gpu record is one line; GPU indices follow line order.) The topology the fake
// reports between two GPUs: one PCIe switch (PIX) when they share a `pcie` label, NODE
// when they share a `numa` node, SYS otherwise. Events are delivered once per process,
// by id, to an event set the GPU is registered with.
//
// <call> for system: init, driver, count, events. For gpu: handle, name, uuid, memory,
// pci, cc, power, mig, numa, nvlink, topo, util, temp, power_draw, clock, ecc, throttle,
// retired, procs. <ERROR> is an NVML error name without the NVML_ERROR_ prefix
// (DRIVER_NOT_LOADED, GPU_IS_LOST, NOT_SUPPORTED, ...) or a number.
//
// A fixture that is missing or malformed makes nvmlInit_v2 fail with NVML_ERROR_UNKNOWN
// (and, when it turns bad while in use, every device call), and nvmlErrorString then
// returns the reason (file, line, what is wrong).
//
// Thread-safe: one lock around the whole fake (agents sample and wait for events on
// different threads).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "baton/agent/gpu/nvml_types.h"

namespace {

struct FakeMig {
  std::string uuid;
  std::string profile;
  unsigned long long memory_mib = 0;
  unsigned int gi = 0;
  unsigned int ci = 0;
};

struct FakeProcess {
  unsigned int pid = 0;
  unsigned long long mib = 0;
};

struct FakeGpu {
  std::string name = "Fake GPU";
  std::string uuid;
  unsigned long long memory_mib = 0;
  int cc_major = 0;
  int cc_minor = 0;
  unsigned int power_mw = 0;
  bool mig = false;
  std::string pci;
  int numa = -1;
  std::string pcie;
  std::vector<std::string> nvlink;  // one remote bus id per active link
  unsigned int util = 0;
  unsigned int mem_util = 0;
  long long mem_used_mib = -1;  // -1: 1% of memory (driver-reserved, roughly)
  unsigned int temp_c = 30;
  unsigned int power_draw_mw = 0;
  unsigned int sm_clock = 0;
  unsigned int mem_clock = 0;
  unsigned long long ecc_sbe = 0;
  unsigned long long ecc_dbe = 0;
  unsigned long long throttle = 0;
  bool retired_pending = false;
  std::vector<FakeProcess> procs;
  std::vector<FakeMig> migs;
  std::map<std::string, nvmlReturn_t> fail;  // call -> error
};

struct FakeEvent {
  long long id = 0;
  unsigned int gpu = 0;
  unsigned long long type = kNvmlEventTypeXidCriticalError;
  unsigned long long data = 0;
};

struct FakeSystem {
  std::string driver = "0.0";
  std::map<std::string, nvmlReturn_t> fail;
  std::vector<FakeGpu> gpus;
  std::vector<FakeEvent> events;
};

struct FakeEventSet {
  std::map<unsigned int, unsigned long long> registered;  // gpu index -> event types
};

std::mutex g_mu;
FakeSystem g_system;
int g_init_count = 0;
std::string g_fixture_error;  // set when the fixture could not be loaded
bool g_broken = false;        // the fixture turned bad while in use
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  long long mtime_ns = -1;
  bool operator==(const FileId&) const = default;
};
FileId g_loaded;
std::set<long long> g_delivered;  // event ids handed out
std::string g_error_text;         // backing store for nvmlErrorString's answer

struct ErrorName {
  const char* name;
  nvmlReturn_t code;
  const char* text;
};

const ErrorName kErrors[] = {
    {"SUCCESS", NVML_SUCCESS, "Success"},
    {"UNINITIALIZED", NVML_ERROR_UNINITIALIZED, "Uninitialized"},
    {"INVALID_ARGUMENT", NVML_ERROR_INVALID_ARGUMENT, "Invalid Argument"},
    {"NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED, "Not Supported"},
    {"NO_PERMISSION", NVML_ERROR_NO_PERMISSION, "Insufficient Permissions"},
    {"ALREADY_INITIALIZED", NVML_ERROR_ALREADY_INITIALIZED, "Already Initialized"},
    {"NOT_FOUND", NVML_ERROR_NOT_FOUND, "Not Found"},
    {"INSUFFICIENT_SIZE", NVML_ERROR_INSUFFICIENT_SIZE, "Insufficient Size"},
    {"INSUFFICIENT_POWER", NVML_ERROR_INSUFFICIENT_POWER, "Insufficient External Power"},
    {"DRIVER_NOT_LOADED", NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded"},
    {"TIMEOUT", NVML_ERROR_TIMEOUT, "Timeout"},
    {"IRQ_ISSUE", NVML_ERROR_IRQ_ISSUE, "Interrupt Request Issue"},
    {"LIBRARY_NOT_FOUND", NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"},
    {"FUNCTION_NOT_FOUND", NVML_ERROR_FUNCTION_NOT_FOUND, "Function Not Found"},
    {"CORRUPTED_INFOROM", NVML_ERROR_CORRUPTED_INFOROM, "Corrupted infoROM"},
    {"GPU_IS_LOST", NVML_ERROR_GPU_IS_LOST, "GPU is lost"},
    {"RESET_REQUIRED", NVML_ERROR_RESET_REQUIRED, "GPU requires restart"},
    {"OPERATING_SYSTEM", NVML_ERROR_OPERATING_SYSTEM, "Operating System Error"},
    {"LIB_RM_VERSION_MISMATCH", NVML_ERROR_LIB_RM_VERSION_MISMATCH,
     "RM has detected an NVML/RM version mismatch"},
    {"IN_USE", NVML_ERROR_IN_USE, "In use by another client"},
    {"MEMORY", NVML_ERROR_MEMORY, "Insufficient Memory"},
    {"NO_DATA", NVML_ERROR_NO_DATA, "No data"},
    {"UNKNOWN", NVML_ERROR_UNKNOWN, "Unknown Error"},
};

const char* const kSystemCalls[] = {"init", "driver", "count", "events"};
const char* const kGpuCalls[] = {"handle", "name",  "uuid",       "memory", "pci",
                                 "cc",     "power", "mig",        "numa",   "nvlink",
                                 "topo",   "util",  "temp",       "power_draw", "clock",
                                 "ecc",    "throttle", "retired", "procs"};

bool ParseError(const std::string& s, nvmlReturn_t* out) {
  for (const ErrorName& e : kErrors) {
    if (s == e.name) {
      *out = e.code;
      return true;
    }
  }
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && end != nullptr && *end == '\0') {
    *out = static_cast<nvmlReturn_t>(v);
    return true;
  }
  return false;
}

// Splits a line into whitespace-separated tokens; "..." groups (quotes removed).
bool Tokenize(const std::string& line, std::vector<std::string>* out, std::string* err) {
  std::string cur;
  bool in_quotes = false, have = false;
  for (char c : line) {
    if (c == '"') {
      in_quotes = !in_quotes;
      have = true;
    } else if (!in_quotes && (c == ' ' || c == '\t' || c == '\r')) {
      if (have) out->push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (in_quotes) {
    *err = "unterminated quote";
    return false;
  }
  if (have) out->push_back(cur);
  return true;
}

bool ParseUnsigned(const std::string& s, unsigned long long* out, int base = 10) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  *out = std::strtoull(s.c_str(), &end, base);
  return end != nullptr && *end == '\0';
}

template <size_t N>
bool ParseFail(const std::string& value, const char* const (&calls)[N],
               std::map<std::string, nvmlReturn_t>* out, std::string* err) {
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) {
      *err = "fail entry \"" + item + "\" is not <call>:<ERROR>";
      return false;
    }
    const std::string call = item.substr(0, colon);
    bool known = false;
    for (const char* c : calls) known = known || call == c;
    if (!known) {
      *err = "fail entry names unknown call \"" + call + "\"";
      return false;
    }
    nvmlReturn_t code = NVML_SUCCESS;
    if (!ParseError(item.substr(colon + 1), &code)) {
      *err = "unknown NVML error \"" + item.substr(colon + 1) + "\"";
      return false;
    }
    (*out)[call] = code;
  }
  return true;
}

bool ParseList(const std::string& value, std::vector<std::string>* out) {
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) return false;
    out->push_back(item);
  }
  return true;
}

bool ParseGpuField(const std::string& key, const std::string& value, FakeGpu* gpu,
                   std::string* err) {
  unsigned long long n = 0;
  const auto number = [&](auto* field) {
    if (!ParseUnsigned(value, &n)) return false;
    *field = static_cast<std::remove_reference_t<decltype(*field)>>(n);
    return true;
  };
  if (key == "name") {
    gpu->name = value;
  } else if (key == "uuid") {
    gpu->uuid = value;
  } else if (key == "memory_mib") {
    return number(&gpu->memory_mib);
  } else if (key == "cc") {
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(value.c_str(), "%d.%d%c", &major, &minor, &tail) != 2) return false;
    gpu->cc_major = major;
    gpu->cc_minor = minor;
  } else if (key == "power_mw") {
    return number(&gpu->power_mw);
  } else if (key == "mig") {
    if (value != "on" && value != "off") return false;
    gpu->mig = value == "on";
  } else if (key == "pci") {
    if (value.size() >= kNvmlPciBusIdSize) return false;
    gpu->pci = value;
  } else if (key == "numa") {
    return number(&gpu->numa);
  } else if (key == "pcie") {
    gpu->pcie = value;
  } else if (key == "nvlink") {
    std::vector<std::string> items;
    if (!ParseList(value, &items)) return false;
    for (const std::string& item : items) {
      std::string id = item;
      unsigned long long times = 1;
      if (const size_t star = item.find('*'); star != std::string::npos) {
        id = item.substr(0, star);
        if (!ParseUnsigned(item.substr(star + 1), &times) || times == 0) return false;
      }
      if (id.empty() || id.size() >= kNvmlPciBusIdSize) return false;
      for (unsigned long long k = 0; k < times; ++k) gpu->nvlink.push_back(id);
    }
    if (gpu->nvlink.size() > kNvmlNvLinkMaxLinks) {
      *err = "nvlink: more than 18 links";
      return false;
    }
  } else if (key == "util") {
    return number(&gpu->util) && gpu->util <= 100;
  } else if (key == "mem_util") {
    return number(&gpu->mem_util) && gpu->mem_util <= 100;
  } else if (key == "mem_used_mib") {
    return number(&gpu->mem_used_mib);
  } else if (key == "temp_c") {
    return number(&gpu->temp_c);
  } else if (key == "power_draw_mw") {
    return number(&gpu->power_draw_mw);
  } else if (key == "sm_clock") {
    return number(&gpu->sm_clock);
  } else if (key == "mem_clock") {
    return number(&gpu->mem_clock);
  } else if (key == "ecc_sbe") {
    return number(&gpu->ecc_sbe);
  } else if (key == "ecc_dbe") {
    return number(&gpu->ecc_dbe);
  } else if (key == "throttle") {
    const bool hex = value.rfind("0x", 0) == 0;
    return ParseUnsigned(hex ? value.substr(2) : value, &gpu->throttle, hex ? 16 : 10);
  } else if (key == "retired_pending") {
    if (value != "yes" && value != "no") return false;
    gpu->retired_pending = value == "yes";
  } else if (key == "procs") {
    std::vector<std::string> items;
    if (!ParseList(value, &items)) return false;
    for (const std::string& item : items) {
      const size_t colon = item.find(':');
      FakeProcess p;
      unsigned long long pid = 0;
      if (colon == std::string::npos || !ParseUnsigned(item.substr(0, colon), &pid) ||
          !ParseUnsigned(item.substr(colon + 1), &p.mib)) {
        return false;
      }
      p.pid = static_cast<unsigned int>(pid);
      gpu->procs.push_back(p);
    }
  } else if (key == "fail") {
    return ParseFail(value, kGpuCalls, &gpu->fail, err);
  } else {
    *err = "unknown gpu field \"" + key + "\"";
    return false;
  }
  return true;
}

bool ParseLine(const std::vector<std::string>& tokens, FakeSystem* sys, std::string* err) {
  const std::string& kind = tokens[0];
  if (kind != "system" && kind != "gpu" && kind != "mig" && kind != "event") {
    *err = "unknown record \"" + kind + "\" (want system, gpu, mig or event)";
    return false;
  }
  if (kind == "mig" && sys->gpus.empty()) {
    *err = "mig record before any gpu record";
    return false;
  }
  FakeGpu gpu;
  FakeMig mig;
  FakeEvent event;
  bool have_id = false, have_gpu = false, have_kind = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const size_t eq = tokens[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      *err = "field \"" + tokens[i] + "\" is not key=value";
      return false;
    }
    const std::string key = tokens[i].substr(0, eq);
    const std::string value = tokens[i].substr(eq + 1);
    bool ok = true;
    unsigned long long n = 0;
    if (kind == "system") {
      if (key == "driver") {
        sys->driver = value;
      } else if (key == "fail") {
        if (!ParseFail(value, kSystemCalls, &sys->fail, err)) return false;
      } else {
        *err = "unknown system field \"" + key + "\"";
        return false;
      }
    } else if (kind == "gpu") {
      ok = ParseGpuField(key, value, &gpu, err);
      if (!ok && !err->empty()) return false;
    } else if (kind == "mig") {
      if (key == "uuid") {
        mig.uuid = value;
      } else if (key == "profile") {
        mig.profile = value;
      } else if (key == "memory_mib") {
        ok = ParseUnsigned(value, &mig.memory_mib);
      } else if (key == "gi" || key == "ci") {
        ok = ParseUnsigned(value, &n);
        (key == "gi" ? mig.gi : mig.ci) = static_cast<unsigned int>(n);
      } else {
        *err = "unknown mig field \"" + key + "\"";
        return false;
      }
    } else {  // event
      if (key == "id") {
        ok = ParseUnsigned(value, &n);
        event.id = static_cast<long long>(n);
        have_id = true;
      } else if (key == "gpu") {
        ok = ParseUnsigned(value, &n);
        event.gpu = static_cast<unsigned int>(n);
        have_gpu = true;
      } else if (key == "xid") {
        ok = ParseUnsigned(value, &event.data);
        event.type = kNvmlEventTypeXidCriticalError;
        have_kind = true;
      } else if (key == "type") {
        if (value == "ecc_sbe") {
          event.type = kNvmlEventTypeSingleBitEccError;
        } else if (value == "ecc_dbe") {
          event.type = kNvmlEventTypeDoubleBitEccError;
        } else {
          ok = false;
        }
        have_kind = true;
      } else {
        *err = "unknown event field \"" + key + "\"";
        return false;
      }
    }
    if (!ok) {
      *err = "bad value for " + key + ": \"" + value + "\"";
      return false;
    }
  }
  if (kind == "gpu") {
    if (gpu.uuid.empty()) {
      *err = "gpu record needs uuid=";
      return false;
    }
    sys->gpus.push_back(gpu);
  } else if (kind == "mig") {
    if (mig.uuid.empty() || mig.profile.empty()) {
      *err = "mig record needs uuid= and profile=";
      return false;
    }
    sys->gpus.back().migs.push_back(mig);
  } else if (kind == "event") {
    if (!have_id || !have_gpu || !have_kind) {
      *err = "event record needs id=, gpu= and xid= or type=";
      return false;
    }
    sys->events.push_back(event);
  }
  return true;
}

bool StatFixture(const char* path, FileId* id) {
  struct stat st;
  if (stat(path, &st) != 0) return false;
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->size = st.st_size;
  id->mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return true;
}

// Loads the fixture into g_system; on failure sets g_fixture_error and keeps g_system.
bool LoadFixture() {
  const char* path = std::getenv("BATON_FAKE_NVML_FIXTURE");
  if (path == nullptr || *path == '\0') {
    g_fixture_error = "fake NVML: BATON_FAKE_NVML_FIXTURE is not set";
    return false;
  }
  FileId id;
  std::ifstream in(path);
  if (!in || !StatFixture(path, &id)) {
    g_fixture_error = std::string("fake NVML: cannot open fixture ") + path;
    return false;
  }
  FakeSystem sys;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::vector<std::string> tokens;
    std::string err;
    if (!Tokenize(line, &tokens, &err) || (!tokens.empty() && !ParseLine(tokens, &sys, &err))) {
      g_fixture_error = std::string("fake NVML: fixture ") + path + " line " +
                        std::to_string(line_no) + ": " + err;
      g_loaded = id;
      return false;
    }
  }
  g_fixture_error.clear();
  g_system = std::move(sys);
  g_loaded = id;
  return true;
}

// Re-reads the fixture if it changed on disk since it was loaded.
void MaybeReload() {
  const char* path = std::getenv("BATON_FAKE_NVML_FIXTURE");
  FileId id;
  if (path == nullptr || !StatFixture(path, &id) || id == g_loaded) return;
  g_broken = !LoadFixture();
}

nvmlReturn_t SystemFail(const char* call) {
  const auto it = g_system.fail.find(call);
  return it == g_system.fail.end() ? NVML_SUCCESS : it->second;
}

// Device handles are indices, not pointers, so they survive a reload:
// ((gpu + 1) << 8) | (mig slot + 1, or 0 for the whole GPU).
nvmlDevice_t MakeHandle(size_t gpu, int mig) {
  return reinterpret_cast<nvmlDevice_t>(((gpu + 1) << 8) | static_cast<size_t>(mig + 1));
}

struct Resolved {
  FakeGpu* gpu = nullptr;
  FakeMig* mig = nullptr;  // set for a MIG device handle
  size_t index = 0;
};

// Resolves a handle, or returns the error to report for this call.
nvmlReturn_t Lookup(nvmlDevice_t dev, const char* call, Resolved* out) {
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  MaybeReload();
  if (g_broken) return NVML_ERROR_UNKNOWN;
  const uintptr_t v = reinterpret_cast<uintptr_t>(dev);
  if (v < 0x100) return NVML_ERROR_INVALID_ARGUMENT;
  const size_t gi = (v >> 8) - 1;
  const int slot = static_cast<int>(v & 0xff) - 1;
  if (gi >= g_system.gpus.size()) return NVML_ERROR_GPU_IS_LOST;  // gone after a reload
  FakeGpu& g = g_system.gpus[gi];
  if (const auto it = g.fail.find(call); it != g.fail.end()) return it->second;
  out->gpu = &g;
  out->index = gi;
  if (slot >= 0) {
    if (static_cast<size_t>(slot) >= g.migs.size()) return NVML_ERROR_NOT_FOUND;
    out->mig = &g.migs[static_cast<size_t>(slot)];
  }
  return NVML_SUCCESS;
}

nvmlReturn_t CopyString(const std::string& s, char* buf, unsigned int length) {
  if (buf == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return NVML_SUCCESS;
}

void FillPci(const std::string& bus_id, nvmlPciInfo_t* pci) {
  *pci = nvmlPciInfo_t{};
  std::memcpy(pci->busId, bus_id.c_str(), bus_id.size() + 1);
  unsigned int domain = 0, bus = 0, dev = 0, fn = 0;
  if (std::sscanf(bus_id.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4) {
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    std::snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04x:%02x:%02x.%x",
                  domain & 0xffff, bus & 0xff, dev & 0xff, fn & 0xf);
  }
}

#define FAKE_LOCK std::lock_guard<std::mutex> fake_lock(g_mu)
#define FAKE_LOOKUP(dev, call)                                             \
  Resolved r;                                                              \
  if (nvmlReturn_t rc = Lookup(dev, call, &r); rc != NVML_SUCCESS) return rc

}  // namespace

extern "C" {

nvmlReturn_t nvmlInit_v2(void) {
  FAKE_LOCK;
  if (!LoadFixture()) return NVML_ERROR_UNKNOWN;
  g_broken = false;
  if (nvmlReturn_t rc = SystemFail("init"); rc != NVML_SUCCESS) return rc;
  ++g_init_count;  // NVML reference-counts init and shutdown
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  FAKE_LOCK;
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  --g_init_count;
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  FAKE_LOCK;
  if (!g_fixture_error.empty() && (result == NVML_ERROR_UNKNOWN || g_broken)) {
    g_error_text = g_fixture_error;
    return g_error_text.c_str();
  }
  for (const ErrorName& e : kErrors) {
    if (e.code == result) return e.text;
  }
  return "Unknown Error";
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  FAKE_LOCK;
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (nvmlReturn_t rc = SystemFail("driver"); rc != NVML_SUCCESS) return rc;
  return CopyString(g_system.driver, version, length);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  FAKE_LOCK;
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  MaybeReload();
  if (nvmlReturn_t rc = SystemFail("count"); rc != NVML_SUCCESS) return rc;
  *count = static_cast<unsigned int>(g_system.gpus.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  FAKE_LOCK;
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  MaybeReload();
  if (device == nullptr || index >= g_system.gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
  FakeGpu& g = g_system.gpus[index];
  if (const auto it = g.fail.find("handle"); it != g.fail.end()) return it->second;
  *device = MakeHandle(index, -1);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "name");
  return CopyString(r.mig ? r.gpu->name + " MIG " + r.mig->profile : r.gpu->name, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "uuid");
  return CopyString(r.mig ? r.mig->uuid : r.gpu->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "memory");
  if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = (r.mig ? r.mig->memory_mib : r.gpu->memory_mib) * 1024ull * 1024ull;
  if (!r.mig && r.gpu->mem_used_mib >= 0) {
    memory->used = std::min<unsigned long long>(memory->total,
                                                r.gpu->mem_used_mib * 1024ull * 1024ull);
  } else {
    memory->used = memory->total / 100;  // driver-reserved memory, roughly
  }
  memory->free = memory->total - memory->used;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "pci");
  if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (r.gpu->pci.empty()) return NVML_ERROR_NOT_SUPPORTED;
  FillPci(r.gpu->pci, pci);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int* major, int* minor) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "cc");
  if (major == nullptr || minor == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *major = r.gpu->cc_major;
  *minor = r.gpu->cc_minor;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* limit) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "power");
  if (limit == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (r.gpu->power_mw == 0) return NVML_ERROR_NOT_SUPPORTED;
  *limit = r.gpu->power_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current,
                                  unsigned int* pending) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "mig");
  if (current == nullptr || pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *current = *pending = r.gpu->mig ? kNvmlMigEnabled : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNumaNodeId(nvmlDevice_t device, unsigned int* node) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "numa");
  if (node == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (r.gpu->numa < 0) return NVML_ERROR_NOT_SUPPORTED;
  *node = static_cast<unsigned int>(r.gpu->numa);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, int* active) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "nvlink");
  if (active == nullptr || link >= kNvmlNvLinkMaxLinks) return NVML_ERROR_INVALID_ARGUMENT;
  if (r.gpu->nvlink.empty()) return NVML_ERROR_NOT_SUPPORTED;
  *active = link < r.gpu->nvlink.size() ? kNvmlFeatureEnabled : kNvmlFeatureDisabled;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link,
                                                 nvmlPciInfo_t* pci) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "nvlink");
  if (pci == nullptr || link >= kNvmlNvLinkMaxLinks) return NVML_ERROR_INVALID_ARGUMENT;
  if (link >= r.gpu->nvlink.size()) return NVML_ERROR_NOT_SUPPORTED;
  FillPci(r.gpu->nvlink[link], pci);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t device, unsigned int link,
                                                 int* type) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "nvlink");
  if (type == nullptr || link >= kNvmlNvLinkMaxLinks) return NVML_ERROR_INVALID_ARGUMENT;
  if (link >= r.gpu->nvlink.size()) return NVML_ERROR_NOT_SUPPORTED;
  *type = kNvmlNvLinkDeviceTypeSwitch;
  for (const FakeGpu& g : g_system.gpus) {
    if (g.pci == r.gpu->nvlink[link]) *type = kNvmlNvLinkDeviceTypeGpu;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t d1, nvmlDevice_t d2,
                                                 int* level) {
  FAKE_LOCK;
  Resolved a, b;
  if (nvmlReturn_t rc = Lookup(d1, "topo", &a); rc != NVML_SUCCESS) return rc;
  if (nvmlReturn_t rc = Lookup(d2, "topo", &b); rc != NVML_SUCCESS) return rc;
  if (level == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!a.gpu->pcie.empty() && a.gpu->pcie == b.gpu->pcie) {
    *level = kNvmlTopologySingle;
  } else if (a.gpu->numa >= 0 && a.gpu->numa == b.gpu->numa) {
    *level = kNvmlTopologyNode;
  } else {
    *level = kNvmlTopologySystem;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "mig");
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!r.gpu->mig) return NVML_ERROR_NOT_SUPPORTED;
  *count = 7;  // A100/H100: up to seven MIG devices
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t* mig) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "mig");
  if (mig == nullptr || r.mig != nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (index >= r.gpu->migs.size()) return NVML_ERROR_NOT_FOUND;
  *mig = MakeHandle(r.index, static_cast<int>(index));
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "mig");
  if (id == nullptr || r.mig == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *id = r.mig->gi;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "mig");
  if (id == nullptr || r.mig == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *id = r.mig->ci;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* u) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "util");
  if (u == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  u->gpu = r.gpu->util;
  u->memory = r.gpu->mem_util;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int* temp) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "temp");
  if (temp == nullptr || sensor != kNvmlTemperatureGpu) return NVML_ERROR_INVALID_ARGUMENT;
  *temp = r.gpu->temp_c;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* mw) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "power_draw");
  if (mw == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *mw = r.gpu->power_draw_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int* mhz) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "clock");
  if (mhz == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (type == kNvmlClockSm || type == kNvmlClockGraphics) {
    *mhz = r.gpu->sm_clock;
  } else if (type == kNvmlClockMem) {
    *mhz = r.gpu->mem_clock;
  } else {
    return NVML_ERROR_NOT_SUPPORTED;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int error_type, int counter,
                                         unsigned long long* count) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "ecc");
  if (count == nullptr || (counter != kNvmlVolatileEcc && counter != kNvmlAggregateEcc)) {
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  *count = error_type == kNvmlMemoryErrorCorrected ? r.gpu->ecc_sbe : r.gpu->ecc_dbe;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                       unsigned long long* reasons) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "throttle");
  if (reasons == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *reasons = r.gpu->throttle;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, int* pending) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "retired");
  if (pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *pending = r.gpu->retired_pending ? kNvmlFeatureEnabled : kNvmlFeatureDisabled;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "procs");
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const unsigned int have = static_cast<unsigned int>(r.gpu->procs.size());
  if (*count < have || (have > 0 && infos == nullptr)) {
    *count = have;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned int i = 0; i < have; ++i) {
    infos[i].pid = r.gpu->procs[i].pid;
    infos[i].usedGpuMemory = r.gpu->procs[i].mib * 1024ull * 1024ull;
    infos[i].gpuInstanceId = 0xFFFFFFFFu;
    infos[i].computeInstanceId = 0xFFFFFFFFu;
  }
  *count = have;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  FAKE_LOCK;
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t rc = SystemFail("events"); rc != NVML_SUCCESS) return rc;
  *set = reinterpret_cast<nvmlEventSet_t>(new FakeEventSet());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long* types) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "handle");
  if (types == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *types = kNvmlEventTypeXidCriticalError | kNvmlEventTypeSingleBitEccError |
           kNvmlEventTypeDoubleBitEccError | kNvmlEventTypePState | kNvmlEventTypeClock;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types,
                                      nvmlEventSet_t set) {
  FAKE_LOCK;
  FAKE_LOOKUP(device, "handle");
  if (set == nullptr || r.mig != nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  reinterpret_cast<FakeEventSet*>(set)->registered[static_cast<unsigned int>(r.index)] |= types;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                 unsigned int timeout_ms) {
  if (set == nullptr || data == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  auto* es = reinterpret_cast<FakeEventSet*>(set);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    {
      FAKE_LOCK;
      if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
      MaybeReload();
      if (g_broken) return NVML_ERROR_UNKNOWN;
      if (nvmlReturn_t rc = SystemFail("events"); rc != NVML_SUCCESS) return rc;
      for (const FakeEvent& e : g_system.events) {
        if (g_delivered.count(e.id)) continue;
        const auto it = es->registered.find(e.gpu);
        if (it == es->registered.end() || (it->second & e.type) == 0) continue;
        g_delivered.insert(e.id);
        *data = nvmlEventData_t{};
        data->device = MakeHandle(e.gpu, -1);
        data->eventType = e.type;
        data->eventData = e.data;
        data->gpuInstanceId = 0xFFFFFFFFu;
        data->computeInstanceId = 0xFFFFFFFFu;
        return NVML_SUCCESS;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return NVML_ERROR_TIMEOUT;
    // The fake has no interrupt to wait on: it looks at the fixture every 50 ms.
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                      std::chrono::milliseconds(50)));
  }
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  FAKE_LOCK;
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  delete reinterpret_cast<FakeEventSet*>(set);
  return NVML_SUCCESS;
}

}  // extern "C"
