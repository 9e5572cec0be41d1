// MIG profiles: the names NVML gives the slices of a MIG-partitioned GPU, as jobs ask for
// them (`mig: 1g.10gb`) and agents report them (AgentGpu.mig_devices).
//
// A profile is "<g>g.<memory>gb" (a GPU instance of g compute slices out of 7), optionally
// prefixed "<c>c." (a compute instance of c slices inside it: "1c.3g.40gb") and followed
// by "+<attribute>" tags ("1g.10gb+me"). Names are compared case-insensitively and kept
// as written. Pure functions; no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace baton::model {

// Compute slices of a whole GPU: every MIG-capable NVIDIA GPU so far (A100, A30 in
// 4-slice mode aside, H100, H200) splits into 7.
constexpr int kMigSlicesPerGpu = 7;

// Whether `profile` is written like a MIG profile (see above).
bool IsMigProfile(std::string_view profile);
// Compute slices the profile runs on: "3g.40gb" -> 3, "1c.3g.40gb" -> 1; 0 when
// `profile` is not a profile.
int MigComputeSlices(std::string_view profile);
// What one instance of the profile counts for in quotas and fair share, in milli-GPUs:
// its compute slices out of 7, rounded ("1g.10gb" -> 143, "7g.80gb" -> 1000). 1000 for a
// string that is not a profile.
int32_t MigProfileMilli(std::string_view profile);
// The scheduler's GPU type for instances of `profile` on GPUs of `model`:
// "NVIDIA A100-SXM4-80GB/1g.10gb".
std::string MigTypeName(std::string_view model, std::string_view profile);
// Case-insensitive equality of two profile names.
bool SameMigProfile(std::string_view a, std::string_view b);

}  // namespace baton::model
