// nvml_types.h: baton's own declarations of the slice of the NVML C API it uses.
//
// baton never includes NVIDIA's nvml.h and never links libnvidia-ml: the library is
// opened at run time (NvmlGpuDiscovery) so one agent binary runs on machines with and
// without GPUs. These declarations follow NVML's documented ABI (function names,
// argument types, return codes, struct layouts); the fake library in testing/fake_nvml/
// implements the same declarations, so the two cannot drift apart.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// nvmlReturn_t: an int-sized enum in NVML; kept as a plain int here.
typedef int nvmlReturn_t;

enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_UNKNOWN = 999,
};

// Buffer sizes NVML documents as large enough for each string query.
enum {
  kNvmlDriverVersionBufferSize = 80,
  kNvmlDeviceNameBufferSize = 96,
  kNvmlDeviceUuidBufferSize = 96,
  kNvmlPciBusIdLegacySize = 16,
  kNvmlPciBusIdSize = 32,
};

// nvmlDeviceGetMigMode's "current mode" value when MIG is on.
enum { kNvmlMigEnabled = 1 };

typedef struct nvmlDevice_st* nvmlDevice_t;  // opaque handle

typedef struct {
  unsigned long long total;  // bytes
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct {
  char busIdLegacy[kNvmlPciBusIdLegacySize];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[kNvmlPciBusIdSize];  // "00000000:18:00.0"
} nvmlPciInfo_t;

// NVLink: the most links a device has (NVML_NVLINK_MAX_LINKS, 18 since Hopper).
enum { kNvmlNvLinkMaxLinks = 18 };

// nvmlEnableState_t.
enum { kNvmlFeatureDisabled = 0, kNvmlFeatureEnabled = 1 };

// nvmlIntNvLinkDeviceType_t: what the far end of an NVLink is.
enum {
  kNvmlNvLinkDeviceTypeGpu = 0x00,
  kNvmlNvLinkDeviceTypeIbmNpu = 0x01,
  kNvmlNvLinkDeviceTypeSwitch = 0x02,
  kNvmlNvLinkDeviceTypeUnknown = 0xFF,
};

// nvmlGpuTopologyLevel_t: the closest common ancestor of two GPUs on the PCIe tree.
enum {
  kNvmlTopologyInternal = 0,     // same board
  kNvmlTopologySingle = 10,      // one PCIe switch between them
  kNvmlTopologyMultiple = 20,    // several PCIe switches, no host bridge
  kNvmlTopologyHostbridge = 30,  // one host bridge
  kNvmlTopologyNode = 40,        // host bridges within one NUMA node
  kNvmlTopologySystem = 50,      // across NUMA nodes (SMP interconnect)
};

// nvmlTemperatureSensors_t, nvmlClockType_t, nvmlMemoryErrorType_t, nvmlEccCounterType_t.
enum { kNvmlTemperatureGpu = 0 };
enum { kNvmlClockGraphics = 0, kNvmlClockSm = 1, kNvmlClockMem = 2, kNvmlClockVideo = 3 };
enum { kNvmlMemoryErrorCorrected = 0, kNvmlMemoryErrorUncorrected = 1 };
enum { kNvmlVolatileEcc = 0, kNvmlAggregateEcc = 1 };

// nvmlClocksThrottleReason* bits (nvmlDeviceGetCurrentClocksThrottleReasons).
enum : unsigned long long {
  kNvmlThrottleGpuIdle = 0x1ull,
  kNvmlThrottleApplicationsClocksSetting = 0x2ull,
  kNvmlThrottleSwPowerCap = 0x4ull,
  kNvmlThrottleHwSlowdown = 0x8ull,
  kNvmlThrottleSyncBoost = 0x10ull,
  kNvmlThrottleSwThermalSlowdown = 0x20ull,
  kNvmlThrottleHwThermalSlowdown = 0x40ull,
  kNvmlThrottleHwPowerBrakeSlowdown = 0x80ull,
  kNvmlThrottleDisplayClockSetting = 0x100ull,
};

// nvmlEventType* bits (nvmlDeviceRegisterEvents, nvmlEventData_t.eventType).
enum : unsigned long long {
  kNvmlEventTypeSingleBitEccError = 0x1ull,
  kNvmlEventTypeDoubleBitEccError = 0x2ull,
  kNvmlEventTypePState = 0x4ull,
  kNvmlEventTypeXidCriticalError = 0x8ull,
  kNvmlEventTypeClock = 0x10ull,
};

typedef struct {
  unsigned int gpu;     // percent of time a kernel ran over the last sample period
  unsigned int memory;  // percent of time device memory was read or written
} nvmlUtilization_t;

// nvmlProcessInfo_t as nvmlDeviceGetComputeRunningProcesses_v3 fills it.
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;  // bytes; NVML_VALUE_NOT_AVAILABLE (~0ull) if unknown
  unsigned int gpuInstanceId;        // MIG only; 0xFFFFFFFF otherwise
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

enum : unsigned long long { kNvmlValueNotAvailable = ~0ull };

typedef struct nvmlEventSet_st* nvmlEventSet_t;  // opaque handle

typedef struct {
  nvmlDevice_t device;             // the device the event is about
  unsigned long long eventType;    // one kNvmlEventType* bit
  unsigned long long eventData;    // the Xid for XidCriticalError
  unsigned int gpuInstanceId;      // MIG: where it happened; 0xFFFFFFFF = whole GPU
  unsigned int computeInstanceId;
} nvmlEventData_t;

// Function pointer types, one per NVML entry point baton calls.
typedef nvmlReturn_t (*nvmlInit_v2_fn)(void);
typedef nvmlReturn_t (*nvmlShutdown_fn)(void);
typedef const char* (*nvmlErrorString_fn)(nvmlReturn_t);
typedef nvmlReturn_t (*nvmlSystemGetDriverVersion_fn)(char*, unsigned int);
typedef nvmlReturn_t (*nvmlDeviceGetCount_v2_fn)(unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetHandleByIndex_v2_fn)(unsigned int, nvmlDevice_t*);
typedef nvmlReturn_t (*nvmlDeviceGetName_fn)(nvmlDevice_t, char*, unsigned int);
typedef nvmlReturn_t (*nvmlDeviceGetUUID_fn)(nvmlDevice_t, char*, unsigned int);
typedef nvmlReturn_t (*nvmlDeviceGetMemoryInfo_fn)(nvmlDevice_t, nvmlMemory_t*);
typedef nvmlReturn_t (*nvmlDeviceGetPciInfo_v3_fn)(nvmlDevice_t, nvmlPciInfo_t*);
typedef nvmlReturn_t (*nvmlDeviceGetCudaComputeCapability_fn)(nvmlDevice_t, int*, int*);
typedef nvmlReturn_t (*nvmlDeviceGetPowerManagementLimit_fn)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetMigMode_fn)(nvmlDevice_t, unsigned int*, unsigned int*);
// Topology.
typedef nvmlReturn_t (*nvmlDeviceGetNumaNodeId_fn)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetNvLinkState_fn)(nvmlDevice_t, unsigned int, int*);
typedef nvmlReturn_t (*nvmlDeviceGetNvLinkRemotePciInfo_v2_fn)(nvmlDevice_t, unsigned int,
                                                               nvmlPciInfo_t*);
typedef nvmlReturn_t (*nvmlDeviceGetNvLinkRemoteDeviceType_fn)(nvmlDevice_t, unsigned int,
                                                               int*);
typedef nvmlReturn_t (*nvmlDeviceGetTopologyCommonAncestor_fn)(nvmlDevice_t, nvmlDevice_t,
                                                               int*);
// MIG.
typedef nvmlReturn_t (*nvmlDeviceGetMaxMigDeviceCount_fn)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetMigDeviceHandleByIndex_fn)(nvmlDevice_t, unsigned int,
                                                               nvmlDevice_t*);
typedef nvmlReturn_t (*nvmlDeviceGetGpuInstanceId_fn)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetComputeInstanceId_fn)(nvmlDevice_t, unsigned int*);
// Telemetry.
typedef nvmlReturn_t (*nvmlDeviceGetUtilizationRates_fn)(nvmlDevice_t, nvmlUtilization_t*);
typedef nvmlReturn_t (*nvmlDeviceGetTemperature_fn)(nvmlDevice_t, int, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetPowerUsage_fn)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetClockInfo_fn)(nvmlDevice_t, int, unsigned int*);
typedef nvmlReturn_t (*nvmlDeviceGetTotalEccErrors_fn)(nvmlDevice_t, int, int,
                                                       unsigned long long*);
typedef nvmlReturn_t (*nvmlDeviceGetCurrentClocksThrottleReasons_fn)(nvmlDevice_t,
                                                                    unsigned long long*);
typedef nvmlReturn_t (*nvmlDeviceGetRetiredPagesPendingStatus_fn)(nvmlDevice_t, int*);
typedef nvmlReturn_t (*nvmlDeviceGetComputeRunningProcesses_v3_fn)(nvmlDevice_t,
                                                                  unsigned int*,
                                                                  nvmlProcessInfo_t*);
// Events.
typedef nvmlReturn_t (*nvmlEventSetCreate_fn)(nvmlEventSet_t*);
typedef nvmlReturn_t (*nvmlDeviceRegisterEvents_fn)(nvmlDevice_t, unsigned long long,
                                                    nvmlEventSet_t);
typedef nvmlReturn_t (*nvmlDeviceGetSupportedEventTypes_fn)(nvmlDevice_t, unsigned long long*);
typedef nvmlReturn_t (*nvmlEventSetWait_v2_fn)(nvmlEventSet_t, nvmlEventData_t*, unsigned int);
typedef nvmlReturn_t (*nvmlEventSetFree_fn)(nvmlEventSet_t);

#ifdef __cplusplus
}  // extern "C"
#endif
