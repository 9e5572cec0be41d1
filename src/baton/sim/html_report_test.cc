// The HTML report: written where asked, well-formed (every tag closed, in order), self-
// contained (no scripts, no external references), with every chart and the fairness
// numbers of a run whose answer is known.
#include "baton/sim/html_report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "baton/sched/registry.h"

namespace baton::sim {
namespace {

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Checks that tags nest and close properly (the page is written as XHTML-compatible
// markup: void elements self-close). Returns "" or what is wrong.
std::string CheckTags(const std::string& html) {
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    const size_t end = html.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with("!")) continue;  // <!DOCTYPE html>
    const bool closing = tag.starts_with("/");
    const bool self = tag.ends_with("/");
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /"));
    if (self) continue;
    if (!closing) {
      stack.push_back(name);
    } else if (stack.empty() || stack.back() != name) {
      return "unexpected </" + name + "> (open: " + (stack.empty() ? "none" : stack.back()) + ")";
    } else {
      stack.pop_back();
    }
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

TraceJob Job(std::string id, int64_t submit_s, int64_t duration_s, std::string queue) {
  TraceJob j;
  j.id = id;
  j.line = std::stoi(id);
  j.submit = TimeFromSeconds(submit_s);
  j.duration = Seconds(duration_s);
  j.gpus = 1;
  j.queue = std::move(queue);
  return j;
}

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model::ClusterSpec spec;
    spec.name = "one";
    model::NodePoolSpec p;
    p.name = "p";
    p.count = 1;
    p.gpu_type = "H100";
    p.gpus_per_node = 1;
    spec.pools.push_back(p);
    model::QueueSpec a;
    a.name = "team-a";
    a.quota_gpus = Quantity::Whole(1);
    spec.queues.push_back(a);
    model::QueueSpec b;
    b.name = "team-b";  // no guarantee: borrows
    spec.queues.push_back(b);
    auto c = model::Cluster::Build(spec);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::make_unique<model::Cluster>(std::move(c).value());
    // One GPU: under FIFO a runs [0, 100), b [100, 200): FTF 1 and 2.
    const std::vector<TraceJob> trace = {Job("1", 0, 100, "team-a"), Job("2", 0, 100, "team-b")};
    for (const char* policy : {"fifo", "las"}) {
      SimOptions o;
      o.policy = *sched::ParsePolicyName(policy, "placement/topology");
      o.record_timeline = true;
      auto r = Simulate(*cluster_, trace, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      results_.push_back(std::move(r).value());
    }
    opts_.cluster_summary = "1 node <one>";
  }
  std::unique_ptr<model::Cluster> cluster_;
  std::vector<SimResult> results_;
  ReportOptions opts_;
};

TEST_F(HtmlReportTest, PageIsWellFormedSelfContainedAndHasEveryChart) {
  const std::string html = RenderHtmlReport(results_, opts_, *cluster_);
  ASSERT_TRUE(html.starts_with("<!DOCTYPE html>\n"));
  EXPECT_EQ(CheckTags(html), "");
  EXPECT_EQ(Count(html, "<svg"), 6u);
  EXPECT_EQ(Count(html, "</svg>"), 6u);
  for (const char* title : {"JCT CDF", "Finish-time fairness CDF", "Queue length",
                            "GPU utilization", "Preemptions (cumulative)",
                            "Share of GPU time per queue"}) {
    EXPECT_NE(html.find(title), std::string::npos) << title;
  }
  // Self-contained: no scripts, no links, no external resources.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  // Text is escaped.
  EXPECT_NE(html.find("1 node &lt;one&gt;"), std::string::npos);
  // Both policies appear in the table and legends; team-a's quota (all of the one GPU)
  // is drawn as a dashed line.
  EXPECT_GE(Count(html, "order/fifo+placement/topology"), 5u);
  EXPECT_GE(Count(html, "order/las+placement/topology"), 5u);
  EXPECT_EQ(Count(html, "class=\"quota\""), 1u);
  // FTF mean 1.5, worst 2 under FIFO.
  EXPECT_NE(html.find("<td>1.50</td><td>2.00</td></tr>"), std::string::npos);
}

TEST_F(HtmlReportTest, WritesIndexHtmlAndReportsUnwritableDirectories) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "baton_report_test" / "deep";
  std::filesystem::remove_all(dir.parent_path());
  ASSERT_TRUE(WriteHtmlReport(results_, opts_, *cluster_, dir.string()).ok());
  std::ifstream in(dir / "index.html");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), RenderHtmlReport(results_, opts_, *cluster_));
  // A path under a regular file cannot be a directory.
  const Status bad = WriteHtmlReport(results_, opts_, *cluster_, (dir / "index.html" / "x").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("--report"), std::string::npos);
  std::filesystem::remove_all(dir.parent_path());
}

TEST_F(HtmlReportTest, RunsWithoutATimelineSaySo) {
  for (auto& r : results_) r.timeline.clear();
  const std::string html = RenderHtmlReport(results_, opts_, *cluster_);
  EXPECT_EQ(CheckTags(html), "");
  EXPECT_NE(html.find("No timeline was recorded"), std::string::npos);
}

}  // namespace
}  // namespace baton::sim
