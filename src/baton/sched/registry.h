// Policy names and factories. Names are what people write in configs, flags and logs
// ("order/las", "placement/topology"); the table is explicit (no static
// self-registration), so the list of policies is exactly what this file says.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/sched/order.h"
#include "baton/sched/placement.h"

namespace baton::sched {

std::unique_ptr<OrderPolicy> MakeFifoOrder();
std::unique_ptr<OrderPolicy> MakePriorityOrder();
std::unique_ptr<OrderPolicy> MakeSjfOrder();
std::unique_ptr<OrderPolicy> MakeSrtfOrder();
std::unique_ptr<OrderPolicy> MakeLasOrder(LasOptions opts = {});
std::unique_ptr<OrderPolicy> MakeDrfOrder();
std::unique_ptr<PlacementPolicy> MakeBinpackPlacement();
std::unique_ptr<PlacementPolicy> MakeSpreadPlacement();
std::unique_ptr<PlacementPolicy> MakeTopologyPlacement();

// Accepts "order/fifo" or the short "fifo".
Result<std::unique_ptr<OrderPolicy>> MakeOrderPolicy(std::string_view name);
Result<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name);
std::vector<std::string> OrderPolicyNames();
std::vector<std::string> PlacementPolicyNames();

// A scheduling policy as people name it: "order/las+placement/binpack", "las+binpack",
// or just "las" (placement defaults to `default_placement`). Canonical form is
// "order/X+placement/Y".
struct PolicyName {
  std::string order;      // "order/las"
  std::string placement;  // "placement/topology"
  std::string ToString() const { return order + "+" + placement; }
};
Result<PolicyName> ParsePolicyName(std::string_view text, std::string_view default_placement);

}  // namespace baton::sched
