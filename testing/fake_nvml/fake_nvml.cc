// fake_nvml: a stand-in libnvidia-ml.so.1 for tests, driven by a text fixture.
//
// Built as libnvidia-ml.so.1 (testing/CMakeLists.txt) and exporting the NVML entry points
// declared in src/baton/agent/gpu/nvml_types.h, so NvmlGpuDiscovery can dlopen it exactly
// as it opens the real driver library. nvmlInit_v2 reads the fixture named by the
// environment variable BATON_FAKE_NVML_FIXTURE (read at every init, so a test can switch
// fixtures between Discover() calls).
//
// Fixture format (one record per line; '#' starts a comment; fields are key=value,
// separated by spaces; a value with spaces is written in double quotes):
//
//   system driver=550.54.15 [fail=<call>:<ERROR>[,<call>:<ERROR>...]]
//   gpu name="NVIDIA H100 80GB HBM3" uuid=GPU-... memory_mib=81559 cc=9.0
//       power_mw=700000 mig=on|off pci=00000000:18:00.0 [fail=<call>:<ERROR>,...]
//
// (each gpu record is one line; GPU indices follow line order.)
// <call> for system: init, driver, count. For gpu: handle, name, uuid, memory, pci, cc,
// power, mig. <ERROR> is an NVML error name without the NVML_ERROR_ prefix
// (DRIVER_NOT_LOADED, GPU_IS_LOST, NOT_SUPPORTED, ...) or a number.
//
// A fixture that is missing or malformed makes nvmlInit_v2 fail with NVML_ERROR_UNKNOWN,
// and nvmlErrorString then returns the reason (file, line, what is wrong).
//
// Not thread-safe: tests call it from one thread.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "baton/agent/gpu/nvml_types.h"

namespace {

struct FakeGpu {
  std::string name = "Fake GPU";
  std::string uuid;
  unsigned long long memory_mib = 0;
  int cc_major = 0;
  int cc_minor = 0;
  unsigned int power_mw = 0;
  bool mig = false;
  std::string pci;
  std::map<std::string, nvmlReturn_t> fail;  // call -> error
};

struct FakeSystem {
  std::string driver = "0.0";
  std::map<std::string, nvmlReturn_t> fail;
  std::vector<FakeGpu> gpus;
};

FakeSystem g_system;
bool g_initialized = false;
std::string g_fixture_error;  // set when the fixture could not be loaded

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

bool ParseUnsigned(const std::string& s, unsigned long long* out) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  *out = std::strtoull(s.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

bool ParseFail(const std::string& value, const std::vector<std::string>& calls,
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
    for (const std::string& c : calls) known = known || c == call;
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

bool ParseLine(const std::vector<std::string>& tokens, FakeSystem* sys, std::string* err) {
  const std::string& kind = tokens[0];
  if (kind != "system" && kind != "gpu") {
    *err = "unknown record \"" + kind + "\" (want system or gpu)";
    return false;
  }
  FakeGpu gpu;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const size_t eq = tokens[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      *err = "field \"" + tokens[i] + "\" is not key=value";
      return false;
    }
    const std::string key = tokens[i].substr(0, eq);
    const std::string value = tokens[i].substr(eq + 1);
    const auto bad_value = [&] {
      *err = "bad value for " + key + ": \"" + value + "\"";
      return false;
    };
    if (kind == "system") {
      if (key == "driver") {
        sys->driver = value;
      } else if (key == "fail") {
        if (!ParseFail(value, {"init", "driver", "count"}, &sys->fail, err)) return false;
      } else {
        *err = "unknown system field \"" + key + "\"";
        return false;
      }
      continue;
    }
    unsigned long long n = 0;
    if (key == "name") {
      gpu.name = value;
    } else if (key == "uuid") {
      gpu.uuid = value;
    } else if (key == "memory_mib") {
      if (!ParseUnsigned(value, &n)) return bad_value();
      gpu.memory_mib = n;
    } else if (key == "cc") {
      int major = 0, minor = 0;
      char tail = 0;
      if (std::sscanf(value.c_str(), "%d.%d%c", &major, &minor, &tail) != 2) return bad_value();
      gpu.cc_major = major;
      gpu.cc_minor = minor;
    } else if (key == "power_mw") {
      if (!ParseUnsigned(value, &n)) return bad_value();
      gpu.power_mw = static_cast<unsigned int>(n);
    } else if (key == "mig") {
      if (value != "on" && value != "off") return bad_value();
      gpu.mig = value == "on";
    } else if (key == "pci") {
      if (value.size() >= kNvmlPciBusIdSize) return bad_value();
      gpu.pci = value;
    } else if (key == "fail") {
      if (!ParseFail(value, {"handle", "name", "uuid", "memory", "pci", "cc", "power", "mig"},
                     &gpu.fail, err)) {
        return false;
      }
    } else {
      *err = "unknown gpu field \"" + key + "\"";
      return false;
    }
  }
  if (kind == "gpu") {
    if (gpu.uuid.empty()) {
      *err = "gpu record needs uuid=";
      return false;
    }
    sys->gpus.push_back(gpu);
  }
  return true;
}

// Loads the fixture into g_system; on failure sets g_fixture_error.
bool LoadFixture() {
  g_fixture_error.clear();
  g_system = FakeSystem();
  const char* path = std::getenv("BATON_FAKE_NVML_FIXTURE");
  if (path == nullptr || *path == '\0') {
    g_fixture_error = "fake NVML: BATON_FAKE_NVML_FIXTURE is not set";
    return false;
  }
  std::ifstream in(path);
  if (!in) {
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
      return false;
    }
  }
  g_system = std::move(sys);
  return true;
}

nvmlReturn_t SystemFail(const char* call) {
  const auto it = g_system.fail.find(call);
  return it == g_system.fail.end() ? NVML_SUCCESS : it->second;
}

// Resolves a handle to its GPU, or returns the error to report for this call.
nvmlReturn_t Lookup(nvmlDevice_t dev, const char* call, const FakeGpu** out) {
  if (!g_initialized) return NVML_ERROR_UNINITIALIZED;
  for (const FakeGpu& g : g_system.gpus) {
    if (reinterpret_cast<const void*>(&g) == reinterpret_cast<const void*>(dev)) {
      const auto it = g.fail.find(call);
      if (it != g.fail.end()) return it->second;
      *out = &g;
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t CopyString(const std::string& s, char* buf, unsigned int length) {
  if (buf == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return NVML_SUCCESS;
}

}  // namespace

extern "C" {

nvmlReturn_t nvmlInit_v2(void) {
  g_initialized = false;
  if (!LoadFixture()) return NVML_ERROR_UNKNOWN;
  if (nvmlReturn_t rc = SystemFail("init"); rc != NVML_SUCCESS) return rc;
  g_initialized = true;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  if (!g_initialized) return NVML_ERROR_UNINITIALIZED;
  g_initialized = false;
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  if (!g_fixture_error.empty()) return g_fixture_error.c_str();
  for (const ErrorName& e : kErrors) {
    if (e.code == result) return e.text;
  }
  return "Unknown Error";
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  if (!g_initialized) return NVML_ERROR_UNINITIALIZED;
  if (nvmlReturn_t rc = SystemFail("driver"); rc != NVML_SUCCESS) return rc;
  return CopyString(g_system.driver, version, length);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!g_initialized) return NVML_ERROR_UNINITIALIZED;
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t rc = SystemFail("count"); rc != NVML_SUCCESS) return rc;
  *count = static_cast<unsigned int>(g_system.gpus.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!g_initialized) return NVML_ERROR_UNINITIALIZED;
  if (device == nullptr || index >= g_system.gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
  FakeGpu& g = g_system.gpus[index];
  if (const auto it = g.fail.find("handle"); it != g.fail.end()) return it->second;
  *device = reinterpret_cast<nvmlDevice_t>(&g);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "name", &g); rc != NVML_SUCCESS) return rc;
  return CopyString(g->name, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "uuid", &g); rc != NVML_SUCCESS) return rc;
  return CopyString(g->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "memory", &g); rc != NVML_SUCCESS) return rc;
  if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = g->memory_mib * 1024ull * 1024ull;
  memory->used = memory->total / 100;  // driver-reserved memory, roughly
  memory->free = memory->total - memory->used;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "pci", &g); rc != NVML_SUCCESS) return rc;
  if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (g->pci.empty()) return NVML_ERROR_NOT_SUPPORTED;
  *pci = nvmlPciInfo_t{};
  std::memcpy(pci->busId, g->pci.c_str(), g->pci.size() + 1);
  unsigned int domain = 0, bus = 0, dev = 0, fn = 0;
  if (std::sscanf(g->pci.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4) {
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    std::snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04x:%02x:%02x.%x",
                  domain & 0xffff, bus & 0xff, dev & 0xff, fn & 0xf);
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int* major, int* minor) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "cc", &g); rc != NVML_SUCCESS) return rc;
  if (major == nullptr || minor == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *major = g->cc_major;
  *minor = g->cc_minor;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* limit) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "power", &g); rc != NVML_SUCCESS) return rc;
  if (limit == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (g->power_mw == 0) return NVML_ERROR_NOT_SUPPORTED;
  *limit = g->power_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current,
                                  unsigned int* pending) {
  const FakeGpu* g = nullptr;
  if (nvmlReturn_t rc = Lookup(device, "mig", &g); rc != NVML_SUCCESS) return rc;
  if (current == nullptr || pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *current = *pending = g->mig ? kNvmlMigEnabled : 0;
  return NVML_SUCCESS;
}

}  // extern "C"
