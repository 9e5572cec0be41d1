// Fuzz target: cluster specs in YAML (spec/cluster_yaml.h), node pools and queues (the
// queue hierarchy is part of the cluster file), as `baton sim --cluster` and
// `baton validate` read them.
//
// Beyond "no crash, no leak, no hang": errors are InvalidArgument naming the source; a
// spec the parser accepts builds a model::Cluster (model/cluster.h) whenever it is small
// enough to build quickly here (the build is linear in the nodes; the parser's limits,
// docs/limits.md, bound it in production).
#include "baton/model/cluster.h"
#include "baton/spec/cluster_yaml.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto spec = baton::spec::ParseClusterYaml(baton::fuzz::AsText(data, size), "cluster.yaml");
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == baton::StatusCode::kInvalidArgument ||
               spec.status().code() == baton::StatusCode::kInternal);
    FUZZ_CHECK(spec.status().message().rfind("cluster.yaml", 0) == 0);
    return 0;
  }
  int64_t gpus = 0;
  for (const auto& pool : spec->pools) gpus += int64_t{pool.count} * pool.gpus_per_node;
  if (gpus <= 4096) {
    auto cluster = baton::model::Cluster::Build(*spec);
    FUZZ_CHECK(cluster.ok());
  }
  return 0;
}
