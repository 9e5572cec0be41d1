#include "baton/sched/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "baton/sched/hetero_order.h"

namespace baton::sched {
namespace {

template <typename T>
struct Entry {
  const char* name;
  std::unique_ptr<T> (*make)();
};

std::unique_ptr<OrderPolicy> MakeDefaultLas() { return MakeLasOrder(); }
std::unique_ptr<OrderPolicy> MakeDefaultHeteroLas() { return MakeHeteroLasOrder(); }

const Entry<OrderPolicy> kOrders[] = {
    {"order/fifo", MakeFifoOrder}, {"order/priority", MakePriorityOrder},
    {"order/sjf", MakeSjfOrder},   {"order/srtf", MakeSrtfOrder},
    {"order/las", MakeDefaultLas},
    {"order/drf", MakeDrfOrder},
    // Heterogeneity-aware (hetero_order.h).
    {"order/hetero-fifo", MakeHeteroFifoOrder}, {"order/hetero-las", MakeDefaultHeteroLas},
    {"order/agnostic-las", MakeAgnosticLasOrder},
};
const Entry<PlacementPolicy> kPlacements[] = {
    {"placement/binpack", MakeBinpackPlacement},
    {"placement/spread", MakeSpreadPlacement},
    {"placement/topology", MakeTopologyPlacement},
};

std::string WithPrefix(std::string_view name, std::string_view prefix) {
  if (name.starts_with(prefix)) return std::string(name);
  return std::string(prefix) + std::string(name);
}

template <typename T, size_t N>
Result<std::unique_ptr<T>> Find(const Entry<T> (&table)[N], std::string_view name,
                                std::string_view prefix, const char* kind) {
  const std::string full = WithPrefix(name, prefix);
  std::vector<std::string> names;
  for (const auto& e : table) {
    if (full == e.name) return e.make();
    names.push_back(e.name);
  }
  return InvalidArgument(fmt::format("unknown {} policy '{}'; known: {}", kind, name,
                                     fmt::join(names, ", ")));
}

}  // namespace

Result<std::unique_ptr<OrderPolicy>> MakeOrderPolicy(std::string_view name) {
  return Find(kOrders, name, "order/", "order");
}
Result<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name) {
  return Find(kPlacements, name, "placement/", "placement");
}

std::vector<std::string> OrderPolicyNames() {
  std::vector<std::string> out;
  for (const auto& e : kOrders) out.push_back(e.name);
  return out;
}
std::vector<std::string> PlacementPolicyNames() {
  std::vector<std::string> out;
  for (const auto& e : kPlacements) out.push_back(e.name);
  return out;
}

Result<PolicyName> ParsePolicyName(std::string_view text, std::string_view default_placement) {
  std::string_view order = text, placement = default_placement;
  if (auto plus = text.find('+'); plus != std::string_view::npos) {
    order = text.substr(0, plus);
    placement = text.substr(plus + 1);
  }
  if (order.starts_with("placement/")) {
    return InvalidArgument(fmt::format(
        "policy '{}': name the order policy first, e.g. order/fifo+{}", text, order));
  }
  auto o = MakeOrderPolicy(order);
  if (!o.ok()) return o.status();
  auto p = MakePlacementPolicy(placement);
  if (!p.ok()) return p.status();
  return PolicyName{std::string((*o)->name()), std::string((*p)->name())};
}

}  // namespace baton::sched
