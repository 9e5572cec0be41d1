// Fuzz target: job specs in YAML or JSON (spec/job_yaml.h), as `baton submit -f` and
// `baton validate` read them.
//
// Beyond "no crash, no leak, no hang": an error is InvalidArgument with a message that
// starts with the source name; every accepted spec passes model::ValidateJobSpec and
// survives the API's encoding (api::FromProto(api::ToProto(spec)) accepts it and encodes
// back to the same message), so anything `baton validate` accepts, batond accepts too.
#include <google/protobuf/util/message_differencer.h>

#include "baton/api/convert.h"
#include "baton/spec/job_yaml.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto jobs = baton::spec::ParseJobYaml(baton::fuzz::AsText(data, size), "job.yaml");
  if (!jobs.ok()) {
    FUZZ_CHECK(jobs.status().code() == baton::StatusCode::kInvalidArgument ||
               jobs.status().code() == baton::StatusCode::kInternal);
    FUZZ_CHECK(jobs.status().message().rfind("job.yaml", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!jobs->empty());
  for (const baton::model::JobSpec& job : *jobs) {
    FUZZ_CHECK(baton::model::ValidateJobSpec(job).ok());
    const baton::v1::JobSpec proto = baton::api::ToProto(job);
    auto back = baton::api::FromProto(proto);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(
        proto, baton::api::ToProto(*back)));
  }
  return 0;
}
