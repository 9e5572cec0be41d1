// Fuzz target: baton's JSON-lines trace reader (sim/trace.h, `baton sim --trace x.jsonl`).
//
// Beyond "no crash, no leak, no hang": errors are InvalidArgument naming the source; the
// jobs read have positive GPUs and durations, tasks that divide the GPUs, and come back
// sorted by submit time.
#include <sstream>

#include "baton/sim/trace.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  std::istringstream in{std::string(baton::fuzz::AsText(data, size))};
  auto jobs = baton::sim::ReadJsonlTrace(in, "trace.jsonl", baton::sim::TraceFilter{});
  if (!jobs.ok()) {
    FUZZ_CHECK(jobs.status().code() == baton::StatusCode::kInvalidArgument);
    FUZZ_CHECK(jobs.status().message().rfind("trace.jsonl", 0) == 0);
    return 0;
  }
  for (size_t i = 0; i < jobs->size(); ++i) {
    const auto& j = (*jobs)[i];
    FUZZ_CHECK(j.gpus > 0);
    FUZZ_CHECK(j.duration.count() > 0);
    if (j.tasks) FUZZ_CHECK(*j.tasks > 0 && j.gpus % *j.tasks == 0);
    if (i > 0) FUZZ_CHECK((*jobs)[i - 1].submit <= j.submit);
  }
  return 0;
}
