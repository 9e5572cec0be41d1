// Cluster specs from YAML: the file format of docs/specs.md into model::ClusterSpec.
//
//   name: small                  # optional
//   pools:                       # node pools, at least one
//     - {name: h100, count: 4, gpu_type: H100, gpus_per_node: 8, nodes_per_rack: 2}
//   queues:                      # optional tenants
//     - {name: team-a, quota_gpus: 16, limit_gpus: 32}
//
// The parser checks types, ranges and the rules that involve several fields (NVLink
// domain shape, unique names, queue parents and cycles, children's quotas against their
// parent's). Every error is InvalidArgument and reads "source:line: field.path: message",
// e.g. "cluster.yaml:12: pools[1].gpus_per_node: must be between 1 and 64, got 0".
//
// Defaults are filled in: nvlink_domain_gpus = gpus_per_node and nodes_per_rack = count
// when not given, so the result never holds the "0 = default" values of NodePoolSpec.
// Sizes given in GiB are stored in MiB. Pool and queue `line` members are set.
//
// Not responsible for: building nodes and racks (model's BuildCluster), or checking that
// jobs name existing queues. Thread-safety: free functions with no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/model/cluster_spec.h"

namespace baton::spec {

// Parses a cluster spec from YAML text. `source` names the input in messages.
Result<model::ClusterSpec> ParseClusterYaml(std::string_view text, std::string_view source);

// Reads and parses a file; NotFound if it does not exist (the path names the source).
Result<model::ClusterSpec> LoadClusterYaml(const std::string& path);

// The `queues:` of a file in the same format (batond --queues): a cluster spec, or a file
// with only `queues:` (pools are optional here and ignored).
Result<std::vector<model::QueueSpec>> LoadQueuesYaml(const std::string& path);

}  // namespace baton::spec
