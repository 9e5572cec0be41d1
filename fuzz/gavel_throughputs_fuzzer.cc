// Fuzz target: Gavel throughput tables, CSV and JSON (sim/throughputs.h,
// `baton sim --throughputs`), the input of the Gavel workload and the heterogeneity-aware
// policies.
//
// Beyond "no crash, no leak, no hang": errors are InvalidArgument naming the source; in a
// table that loads, every (job type, scale factor) it lists answers Has() and a lookup on
// each of its GPU types returns a non-negative number or nothing.
#include "baton/sim/throughputs.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto table = baton::sim::ThroughputTable::Parse(baton::fuzz::AsText(data, size), "tput");
  if (!table.ok()) {
    FUZZ_CHECK(table.status().code() == baton::StatusCode::kInvalidArgument);
    FUZZ_CHECK(table.status().message().rfind("tput", 0) == 0);
    return 0;
  }
  for (const std::string& type : table->job_types()) {
    for (int scale : table->scale_factors(type)) {
      FUZZ_CHECK(table->Has(type, scale));
      for (const std::string& gpu : table->gpu_types()) {
        auto v = table->Get(type, scale, gpu);
        if (v) FUZZ_CHECK(*v >= 0);
      }
    }
  }
  return 0;
}
