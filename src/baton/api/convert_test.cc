#include "baton/api/convert.h"

#include <random>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <type_traits>

#include "baton/model/restart_policy.h"
#include "baton/v1/agent.grpc.pb.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace baton::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

model::JobSpec FullSpec() {
  model::JobSpec s;
  s.name = "llama-ft";
  s.queue = "research";
  s.priority = 42;
  s.tasks = 4;
  s.gpus_per_task = Quantity::Whole(8);
  s.gpu_types = {"H100", "A100"};
  s.gpu_preference = {"H100"};
  s.gang = false;
  s.estimated_runtime = Seconds(3600);
  s.command = {"python", "train.py", "--lr=3e-4"};
  s.cpus_per_task = Quantity::FromMilli(2500);
  s.memory_bytes_per_task = int64_t{64} << 30;
  return s;
}

void ExpectSameSpec(const model::JobSpec& a, const model::JobSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.tasks, b.tasks);
  EXPECT_EQ(a.gpus_per_task, b.gpus_per_task);
  EXPECT_EQ(a.gpu_types, b.gpu_types);
  EXPECT_EQ(a.gpu_preference, b.gpu_preference);
  EXPECT_EQ(a.gang, b.gang);
  EXPECT_EQ(a.estimated_runtime, b.estimated_runtime);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.cpus_per_task, b.cpus_per_task);
  EXPECT_EQ(a.memory_bytes_per_task, b.memory_bytes_per_task);
}

TEST(ConvertJobSpec, RoundTripsFullSpec) {
  const model::JobSpec spec = FullSpec();
  v1::JobSpec proto = ToProto(spec);
  EXPECT_EQ(proto.gpus_per_task(), "8");
  EXPECT_EQ(proto.estimated_runtime_s(), 3600);
  EXPECT_EQ(proto.cpus_per_task(), "2.5");
  EXPECT_EQ(proto.memory_bytes_per_task(), int64_t{64} << 30);
  auto back = FromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameSpec(spec, *back);
}

TEST(ConvertJobSpec, RoundTripsThroughTheWire) {
  const model::JobSpec spec = FullSpec();
  std::string bytes;
  ASSERT_TRUE(ToProto(spec).SerializeToString(&bytes));
  v1::JobSpec decoded;
  ASSERT_TRUE(decoded.ParseFromString(bytes));
  auto back = FromProto(decoded);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameSpec(spec, *back);
}

TEST(ConvertJobSpec, RoundTripsDefaultSpec) {
  const model::JobSpec spec;
  auto back = FromProto(ToProto(spec));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameSpec(spec, *back);
}

TEST(ConvertJobSpec, EmptyMessageGetsModelDefaults) {
  auto spec = FromProto(v1::JobSpec());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ExpectSameSpec(model::JobSpec(), *spec);
  EXPECT_TRUE(spec->gang);
  EXPECT_EQ(spec->queue, "default");
  EXPECT_EQ(spec->tasks, 1);
  EXPECT_EQ(spec->gpus_per_task, Quantity::Whole(1));
  EXPECT_FALSE(spec->estimated_runtime.has_value());
}

TEST(ConvertJobSpec, ExplicitGangFalseIsKept) {
  v1::JobSpec proto;
  proto.set_gang(false);
  auto spec = FromProto(proto);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->gang);
}

TEST(ConvertJobSpec, SubSecondRuntimeRoundsUp) {
  model::JobSpec spec;
  spec.estimated_runtime = Duration(1500000);  // 1.5 s
  EXPECT_EQ(ToProto(spec).estimated_runtime_s(), 2);
}

struct BadField {
  const char* label;
  void (*mutate)(v1::JobSpec&);
  const char* field;  // expected message prefix
};

class ConvertJobSpecBad : public ::testing::TestWithParam<BadField> {};

TEST_P(ConvertJobSpecBad, NamesTheField) {
  v1::JobSpec proto = ToProto(FullSpec());
  GetParam().mutate(proto);
  auto r = FromProto(proto);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith(std::string(GetParam().field) + ": "))
      << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ConvertJobSpecBad,
    ::testing::Values(
        BadField{"gpus_unparsable", [](v1::JobSpec& p) { p.set_gpus_per_task("two"); },
                 "spec.gpus_per_task"},
        BadField{"gpus_too_fine", [](v1::JobSpec& p) { p.set_gpus_per_task("0.0001"); },
                 "spec.gpus_per_task"},
        BadField{"gpus_zero", [](v1::JobSpec& p) { p.set_gpus_per_task("0"); },
                 "spec.gpus_per_task"},
        BadField{"gpus_fractional", [](v1::JobSpec& p) { p.set_gpus_per_task("1.5"); },
                 "spec.gpus_per_task"},
        BadField{"gpus_too_many", [](v1::JobSpec& p) { p.set_gpus_per_task("65"); },
                 "spec.gpus_per_task"},
        BadField{"tasks_negative", [](v1::JobSpec& p) { p.set_tasks(-3); }, "spec.tasks"},
        BadField{"tasks_too_many", [](v1::JobSpec& p) { p.set_tasks(1 << 30); },
                 "spec.tasks"},
        BadField{"priority_high", [](v1::JobSpec& p) { p.set_priority(5000); },
                 "spec.priority"},
        BadField{"priority_low", [](v1::JobSpec& p) { p.set_priority(-5000); },
                 "spec.priority"},
        BadField{"runtime_negative", [](v1::JobSpec& p) { p.set_estimated_runtime_s(-1); },
                 "spec.estimated_runtime_s"},
        BadField{"runtime_huge",
                 [](v1::JobSpec& p) { p.set_estimated_runtime_s(INT64_MAX); },
                 "spec.estimated_runtime_s"},
        BadField{"preference_not_allowed",
                 [](v1::JobSpec& p) { p.add_gpu_preference("B200"); },
                 "spec.gpu_preference"},
        BadField{"empty_gpu_type", [](v1::JobSpec& p) { p.add_gpu_types(""); },
                 "spec.gpu_types[2]"},
        BadField{"empty_preference", [](v1::JobSpec& p) { p.add_gpu_preference(""); },
                 "spec.gpu_preference[1]"},
        BadField{"cpus_unparsable", [](v1::JobSpec& p) { p.set_cpus_per_task("many"); },
                 "spec.cpus_per_task"},
        BadField{"cpus_negative", [](v1::JobSpec& p) { p.set_cpus_per_task("-1"); },
                 "spec.cpus_per_task"},
        BadField{"memory_negative", [](v1::JobSpec& p) { p.set_memory_bytes_per_task(-1); },
                 "spec.memory_bytes_per_task"},
        // UBSan in fuzz/control_plane_fuzzer.cc: the ms -> us conversion overflowed.
        BadField{"backoff_huge", [](v1::JobSpec& p) { p.set_restart_backoff_ms(INT64_C(1) << 62); },
                 "spec.restart_backoff_ms"},
        BadField{"backoff_negative", [](v1::JobSpec& p) { p.set_restart_backoff_ms(-1); },
                 "spec.restart_backoff_ms"},
        BadField{"name_too_long",
                 [](v1::JobSpec& p) { p.set_name(std::string(300, 'n')); }, "spec.name"},
        BadField{"arg_too_long",
                 [](v1::JobSpec& p) { p.add_command(std::string(200000, 'a')); },
                 "spec.command"}),
    [](const ::testing::TestParamInfo<BadField>& info) { return info.param.label; });

// Anything the protobuf parser accepts must either convert or give a clean error.
void CheckBytes(const std::string& bytes) {
  v1::JobSpec proto;
  if (!proto.ParseFromString(bytes)) return;
  auto r = FromProto(proto);
  if (r.ok()) {
    // What converts must survive a round trip.
    auto again = FromProto(ToProto(*r));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ExpectSameSpec(*r, *again);
  } else {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), StartsWith("spec"));
  }
}

TEST(ConvertJobSpecFuzz, RandomBytesNeverCrash) {
  google::protobuf::LogSilencer silence;  // invalid UTF-8 in strings logs an error
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> len(0, 64);
  std::uniform_int_distribution<int> byte(0, 255);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(len(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    v1::JobSpec probe;
    if (probe.ParseFromString(bytes)) ++parsed;
    CheckBytes(bytes);
  }
  EXPECT_GT(parsed, 0);
}

TEST(ConvertJobSpecFuzz, MutatedValidMessagesNeverCrash) {
  google::protobuf::LogSilencer silence;
  std::string valid;
  ASSERT_TRUE(ToProto(FullSpec()).SerializeToString(&valid));
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(byte(rng));
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    v1::JobSpec probe;
    if (probe.ParseFromString(bytes)) ++parsed;
    CheckBytes(bytes);
  }
  EXPECT_GT(parsed, 1000);
}

// A record's checkpoints survive the store: each attempt's latest checkpoint (path and
// time), what the next attempt resumed from, and the job's latest checkpoint.
TEST(ConvertJobRecord, RoundTripsCheckpointsPerAttempt) {
  using namespace std::chrono_literals;
  const Time t0 = Time(std::chrono::seconds(1'700'000'000));
  model::JobRecord job = model::NewJobRecord(JobId(7), FullSpec(), 3, t0);
  job = *model::Apply(job, model::JobEventData::Scheduled(1, {{"n1", {0}}, {"n2", {0}}, {"n3", {0}}, {"n4", {0}}}), t0 + 1s);
  job = *model::Apply(job, model::JobEventData::Starting(1), t0 + 1s);
  ASSERT_TRUE(model::RecordCheckpoint(job, 1, "/ck/step-100", t0 + 60s).ok());
  job = *model::Apply(job, model::JobEventData::NodeLost(1, "n1"), t0 + 90s);
  job = *model::Apply(job, model::JobEventData::Scheduled(2, {{"n5", {0}}, {"n6", {0}}, {"n7", {0}}, {"n8", {0}}}), t0 + 95s);
  ASSERT_EQ(model::ResumeFrom(job), "/ck/step-100");
  const v1::Job proto = ToProto(job);
  ASSERT_EQ(proto.attempts_size(), 2);
  EXPECT_EQ(proto.attempts(0).last_checkpoint_path(), "/ck/step-100");
  EXPECT_EQ(proto.attempts(0).work_lost_s(), 30.0);
  EXPECT_EQ(proto.attempts(1).resumed_from(), "/ck/step-100");
  EXPECT_EQ(proto.attempts(1).last_checkpoint_path(), "");
  v1::Job wire;
  ASSERT_TRUE(wire.ParseFromString(proto.SerializeAsString()));
  auto back = FromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->attempts, job.attempts);
  EXPECT_EQ(back->checkpoint, job.checkpoint);
}

TEST(ConvertNode, CarriesGpusRackAndTypeNames) {
  auto cluster = model::Cluster::Homogeneous(4, 8, "H100", 2);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const model::Node& node = cluster->nodes()[3];
  v1::Node proto = ToProto(node, *cluster, v1::NODE_STATE_DRAINED);
  EXPECT_EQ(proto.name(), node.name);
  EXPECT_EQ(proto.pool(), node.pool);
  EXPECT_EQ(proto.rack(), cluster->rack(node.rack).name);
  EXPECT_EQ(proto.state(), v1::NODE_STATE_DRAINED);
  ASSERT_EQ(proto.gpus_size(), 8);
  for (int i = 0; i < 8; ++i) {
    const auto& g = proto.gpus(i);
    EXPECT_EQ(g.index(), node.gpus[i].index);
    EXPECT_EQ(g.uuid(), node.gpus[i].uuid);
    EXPECT_EQ(g.model(), "H100");
    EXPECT_EQ(g.memory_mib(), node.gpus[i].memory_mib);
    EXPECT_EQ(g.nvlink_domain(), static_cast<int32_t>(node.gpus[i].domain.value()));
  }
}

TEST(ConvertNode, DefaultStateIsReady) {
  auto cluster = model::Cluster::Homogeneous(1, 2, "A100", 0);
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(ToProto(cluster->nodes()[0], *cluster).state(), v1::NODE_STATE_READY);
}

TEST(ConvertQueue, EncodesQuotas) {
  model::QueueSpec q;
  q.name = "research";
  q.parent = "org";
  q.quota_gpus = Quantity::FromMilli(2500);
  q.weight = 3;
  q.priority = 5;
  v1::Queue proto = ToProto(q);
  EXPECT_EQ(proto.name(), "research");
  EXPECT_EQ(proto.parent(), "org");
  EXPECT_EQ(proto.quota_gpus(), "2.5");
  EXPECT_EQ(proto.limit_gpus(), "");
  EXPECT_EQ(proto.weight(), 3);
  EXPECT_EQ(proto.priority(), 5);
}

// The generated services are reachable through the baton_api include dir.
TEST(GeneratedApi, ServicesAndOneofsExist) {
  static_assert(std::is_class_v<v1::Jobs::Service>);
  static_assert(std::is_class_v<v1::Cluster::Service>);
  static_assert(std::is_class_v<v1::Agent::Service>);
  v1::Directive d;
  d.mutable_start_task()->mutable_env()->insert({"NCCL_DEBUG", "INFO"});
  EXPECT_EQ(d.directive_case(), v1::Directive::kStartTask);
  v1::AgentMessage m;
  m.mutable_heartbeat()->set_sequence(3);
  EXPECT_EQ(m.msg_case(), v1::AgentMessage::kHeartbeat);
}

}  // namespace
}  // namespace baton::api
