#include "baton/agent/gpu/xid.h"

#include <array>

#include <fmt/format.h>

namespace baton::agent {
namespace {

constexpr auto kIgnore = v1::GPU_ACTION_IGNORE;
constexpr auto kRestart = v1::GPU_ACTION_RESTART_TASK;
constexpr auto kDrainGpu = v1::GPU_ACTION_DRAIN_GPU;
constexpr auto kDrainNode = v1::GPU_ACTION_DRAIN_NODE;

// Sorted by Xid. Meanings follow NVIDIA's Xid catalog; actions are baton's policy.
constexpr std::array kRules = {
    XidRule{13, kRestart, "Graphics Engine Exception"},
    XidRule{31, kRestart, "GPU memory page fault"},
    XidRule{32, kRestart, "Invalid or corrupted push buffer stream"},
    XidRule{38, kRestart, "Driver firmware error"},
    XidRule{43, kRestart, "GPU stopped processing"},
    XidRule{45, kIgnore, "Preemptive cleanup, due to previous errors"},
    XidRule{48, kDrainGpu, "Double Bit ECC Error"},
    XidRule{61, kDrainGpu, "Internal micro-controller breakpoint/warning"},
    XidRule{62, kDrainGpu, "Internal micro-controller halt"},
    XidRule{63, kIgnore, "ECC page retirement or row remapping recording event"},
    XidRule{64, kDrainGpu, "ECC page retirement or row remapper recording failure"},
    XidRule{68, kRestart, "NVDEC0 Exception"},
    XidRule{69, kRestart, "Graphics Engine class error"},
    XidRule{74, kDrainGpu, "NVLINK Error"},
    XidRule{79, kDrainNode, "GPU has fallen off the bus"},
    XidRule{92, kIgnore, "High single-bit ECC error rate"},
    XidRule{94, kRestart, "Contained ECC error"},
    XidRule{95, kDrainGpu, "Uncontained ECC error"},
    XidRule{109, kRestart, "Context Switch Timeout Error"},
    XidRule{119, kDrainGpu, "GSP RPC Timeout"},
    XidRule{120, kDrainGpu, "GSP Error"},
    XidRule{121, kIgnore, "C2C Link corrected error"},
    XidRule{140, kDrainGpu, "Unrecovered ECC Error"},
};

}  // namespace

XidRule ClassifyXid(uint64_t xid) {
  for (const XidRule& r : kRules) {
    if (r.xid == xid) return r;
  }
  return XidRule{xid, kIgnore, "unknown Xid"};
}

v1::GpuEvent ToGpuEvent(const GpuEventReport& report) {
  v1::GpuEvent ev;
  ev.set_uuid(report.uuid);
  ev.set_index(report.index);
  switch (report.kind) {
    case GpuEventReport::Kind::kXid: {
      const XidRule rule = ClassifyXid(report.xid);
      ev.set_kind(v1::GpuEvent::KIND_XID);
      ev.set_xid(static_cast<int64_t>(report.xid));
      ev.set_action(rule.action);
      ev.set_description(fmt::format("Xid {}: {}", report.xid, rule.meaning));
      break;
    }
    case GpuEventReport::Kind::kEccDoubleBit:
      ev.set_kind(v1::GpuEvent::KIND_ECC_DOUBLE_BIT);
      ev.set_action(kDrainGpu);
      ev.set_description("double-bit (uncorrectable) ECC error");
      break;
    case GpuEventReport::Kind::kEccSingleBit:
      ev.set_kind(v1::GpuEvent::KIND_ECC_SINGLE_BIT);
      ev.set_action(kIgnore);
      ev.set_description("single-bit (corrected) ECC error");
      break;
    case GpuEventReport::Kind::kWatchFailed:
      ev.set_kind(v1::GpuEvent::KIND_UNSPECIFIED);
      ev.set_action(kIgnore);
      ev.set_description(report.detail);
      break;
  }
  return ev;
}

}  // namespace baton::agent
