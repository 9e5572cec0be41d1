// Strong integer ids: a JobId cannot be passed where a NodeId is expected.
//
// Ids are dense small integers handed out by whoever owns the objects (the cluster
// builder for nodes and racks, the driver for jobs). They order and hash by value, so
// "ties break on stable keys" means "ties break on the lower id".
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>

#include <fmt/format.h>

namespace baton {

template <typename Tag, typename Rep = uint32_t>
class StrongId {
 public:
  using rep_type = Rep;
  static constexpr Rep kInvalidValue = std::numeric_limits<Rep>::max();

  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : v_(v) {}

  constexpr Rep value() const { return v_; }
  constexpr bool valid() const { return v_ != kInvalidValue; }
  static constexpr StrongId Invalid() { return StrongId(); }

  friend constexpr auto operator<=>(StrongId, StrongId) = default;
  friend std::ostream& operator<<(std::ostream& os, StrongId id) { return os << id.v_; }

 private:
  Rep v_ = kInvalidValue;
};

using JobId = StrongId<struct JobIdTag, uint64_t>;
using NodeId = StrongId<struct NodeIdTag>;
using RackId = StrongId<struct RackIdTag>;
// An NVLink domain: a set of GPUs joined by NVLink/NVSwitch. It may be part of a node
// (two NVLink pairs in a PCIe box) or span several nodes (an NVL72 rack).
using DomainId = StrongId<struct DomainIdTag>;
using GpuTypeId = StrongId<struct GpuTypeIdTag, uint16_t>;
using QueueId = StrongId<struct QueueIdTag>;

}  // namespace baton

template <typename Tag, typename Rep>
struct std::hash<baton::StrongId<Tag, Rep>> {
  size_t operator()(baton::StrongId<Tag, Rep> id) const noexcept {
    return std::hash<Rep>()(id.value());
  }
};

// Ids print as their number in fmt::format("{}", id).
template <typename Tag, typename Rep>
struct fmt::formatter<baton::StrongId<Tag, Rep>> : fmt::formatter<Rep> {
  auto format(baton::StrongId<Tag, Rep> id, fmt::format_context& ctx) const {
    return fmt::formatter<Rep>::format(id.value(), ctx);
  }
};
