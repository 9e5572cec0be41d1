#include "baton/server/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace baton::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Heartbeat Beat(double util, double temp) {
  v1::Heartbeat hb;
  for (int i = 0; i < 2; ++i) {
    v1::GpuTelemetry* t = hb.add_gpus();
    t->set_uuid(i == 0 ? "GPU-a" : "GPU-b");
    t->set_index(i);
    t->set_utilization_percent(util);
    t->set_memory_used_mib(1024);
    t->set_temperature_c(temp);
    t->set_power_w(250);
    t->set_sm_clock_mhz(i == 0 ? 1410 : -1);  // -1: not supported
    t->set_ecc_corrected(2);
    t->set_ecc_uncorrected(0);
    if (i == 1) t->set_error("nvmlDeviceGetTemperature: GPU is lost");
  }
  return hb;
}

TEST(GpuTelemetryStoreTest, KeepsABoundedHistoryAndTheLatest) {
  GpuTelemetryStore store(3);
  for (int s = 0; s < 5; ++s) store.Record("n1", Beat(10 * s, 40 + s), TimeFromSeconds(100 + s));
  const auto h = store.History("n1", "GPU-a");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.front().gpu.utilization_percent(), 20);
  EXPECT_EQ(h.back().gpu.utilization_percent(), 40);
  auto row = store.Latest("n1", "GPU-a");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->mean_utilization, 30);
  const v1::GpuStats st = ToGpuStats(*row);
  EXPECT_EQ(st.temperature_c(), 44);
  EXPECT_EQ(st.utilization_percent_avg(), 30);
  EXPECT_EQ(store.Latest().size(), 2u);
  EXPECT_FALSE(store.Latest("n2", "GPU-a"));
  store.Forget("n1");
  EXPECT_TRUE(store.Latest().empty());
}

TEST(GpuTelemetryStoreTest, ExportsPrometheusGauges) {
  GpuTelemetryStore store;
  store.Record("n1", Beat(50, 61), TimeFromSeconds(100));
  metrics::Registry reg;
  AddGpuMetrics(reg, store);
  const std::string text = reg.Render();
  EXPECT_THAT(text, HasSubstr(
      "baton_gpu_utilization_ratio{node=\"n1\",gpu=\"0\",uuid=\"GPU-a\"} 0.5"));
  EXPECT_THAT(text, HasSubstr(
      "baton_gpu_temperature_celsius{node=\"n1\",gpu=\"1\",uuid=\"GPU-b\"} 61"));
  EXPECT_THAT(text, HasSubstr(
      "baton_gpu_memory_used_bytes{node=\"n1\",gpu=\"0\",uuid=\"GPU-a\"} 1073741824"));
  EXPECT_THAT(text, HasSubstr("baton_gpu_up{node=\"n1\",gpu=\"1\",uuid=\"GPU-b\"} 0"));
  EXPECT_THAT(text, HasSubstr("baton_gpu_up{node=\"n1\",gpu=\"0\",uuid=\"GPU-a\"} 1"));
  // Unsupported values are left out rather than exported as -1.
  EXPECT_THAT(text, Not(HasSubstr("baton_gpu_sm_clock_hertz{node=\"n1\",gpu=\"1\"")));
}

}  // namespace
}  // namespace baton::server
