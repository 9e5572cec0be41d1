#include "baton/sim/html_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

namespace baton::sim {
namespace {

// Chart geometry, in SVG user units.
constexpr double kWidth = 720, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 28, kBottom = 44;
constexpr size_t kMaxPoints = 400;      // per series: keeps the page small for big traces
constexpr size_t kMaxQueuesDrawn = 12;  // the rest are summed into "other"
constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};

const char* Color(size_t i) { return kPalette[i % std::size(kPalette)]; }

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Human(double seconds) { return FormatDuration(SecondsF(seconds)); }

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> pts;  // (x, y), x ascending
};

// 1, 2 or 5 times a power of ten, about range / 5.
double NiceStep(double range) {
  if (!(range > 0)) return 1;
  const double raw = range / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

std::string Num(double v) {
  if (std::fabs(v) >= 1e6) return fmt::format("{:.3g}", v);
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{}", static_cast<int64_t>(std::llround(v)));
  return fmt::format("{:.2f}", v);
}

struct Axis {
  std::string label;
  bool log = false;       // log10 scale (x only)
  bool duration = false;  // tick labels as durations (seconds in)
  bool percent = false;   // tick labels with a % sign
};

// A line chart: one polyline per series, axes with ticks, a legend.
std::string LineChart(const std::string& title, const std::vector<Series>& series, const Axis& xa,
                      const Axis& ya, bool step) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y1 = 0;
  for (const auto& s : series) {
    for (auto [x, y] : s.pts) {
      if (xa.log && !(x > 0)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y1 = std::max(y1, y);
    }
  }
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\">\n"
      "<title>{}</title>\n<text x=\"{}\" y=\"18\" class=\"t\">{}</text>\n",
      kWidth, kHeight, kWidth, kHeight, Esc(title), kLeft, Esc(title));
  if (!std::isfinite(x0)) {
    out += fmt::format("<text x=\"{}\" y=\"{}\">no data</text>\n</svg>\n", kLeft, kHeight / 2);
    return out;
  }
  if (xa.log) {
    x0 = std::pow(10.0, std::floor(std::log10(x0)));
    x1 = std::pow(10.0, std::ceil(std::log10(x1)));
    if (x1 <= x0) x1 = x0 * 10;
  } else if (x1 <= x0) {
    x1 = x0 + 1;
  }
  const double ystep = NiceStep(y1 > 0 ? y1 : 1);
  y1 = std::max(ystep, std::ceil((y1 > 0 ? y1 : 1) / ystep) * ystep);
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) {
    const double f = xa.log ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0))
                            : (x - x0) / (x1 - x0);
    return kLeft + f * pw;
  };
  auto py = [&](double y) { return kTop + ph - (y / y1) * ph; };
  auto xlabel = [&](double v) { return xa.duration ? Human(v) : Num(v); };
  auto ylabel = [&](double v) { return ya.duration ? Human(v) : Num(v) + (ya.percent ? "%" : ""); };

  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"frame\"/>\n", kLeft,
                     kTop, pw, ph);
  for (double y = 0; y <= y1 + 1e-9; y += ystep) {
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" class=\"yl\">{5}</text>\n",
        kLeft, py(y), kLeft + pw, kLeft - 4, py(y) + 4, Esc(ylabel(y)));
  }
  std::vector<double> xticks;
  if (xa.log) {
    for (double x = x0; x <= x1 * 1.0001; x *= 10) xticks.push_back(x);
  } else {
    const double xs = NiceStep(x1 - x0);
    for (double x = std::ceil(x0 / xs) * xs; x <= x1 + 1e-9; x += xs) xticks.push_back(x);
  }
  for (double x : xticks) {
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"xl\">{4}</text>\n",
        px(x), kTop, kTop + ph, kTop + ph + 14, Esc(xlabel(x)));
  }
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xl\">{}</text>\n", kLeft + pw / 2,
                     kHeight - 8, Esc(xa.label));
  out += fmt::format(
      "<text x=\"14\" y=\"{0:.1f}\" class=\"xl\" transform=\"rotate(-90 14 {0:.1f})\">{1}</text>\n",
      kTop + ph / 2, Esc(ya.label));
  for (size_t i = 0; i < series.size(); ++i) {
    std::string pts;
    double prev_y = 0;
    bool first = true;
    for (auto [x, y] : series[i].pts) {
      if (xa.log && !(x > 0)) continue;
      if (step && !first) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(prev_y));
      pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      prev_y = y;
      first = false;
    }
    if (!pts.empty()) pts.pop_back();
    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
                       pts, Color(i));
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"lg\">{}</text>\n",
        kLeft + 8, kTop + 6 + 14 * i, Color(i), kLeft + 22, kTop + 15 + 14 * i,
        Esc(series[i].name));
  }
  out += "</svg>\n";
  return out;
}

// Time-weighted averages of a step function (value v_i from t_i on) over up to kMaxPoints
// equal buckets from 0 to the last point: what a chart of a long run can show honestly.
std::vector<std::pair<double, double>> Resample(
    const std::vector<std::pair<double, double>>& steps) {
  std::vector<std::pair<double, double>> out;
  if (steps.empty()) return out;
  const double end = steps.back().first;
  if (!(end > 0)) return {{0, steps.back().second}};
  const size_t n = std::min(kMaxPoints, steps.size());
  const double w = end / static_cast<double>(n);
  std::vector<double> area(n, 0.0);
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    double a = steps[i].first, b = steps[i + 1].first;
    const double v = steps[i].second;
    while (a < b) {
      const size_t k = std::min(n - 1, static_cast<size_t>(a / w));
      const double edge = std::min(b, (k + 1) * w);
      area[k] += v * (edge - a);
      if (edge <= a) break;  // float guard at the last bucket
      a = edge;
    }
  }
  for (size_t k = 0; k < n; ++k) out.push_back({(k + 0.5) * w, area[k] / w});
  return out;
}

// An empirical CDF of `values` (seconds), thinned to kMaxPoints.
std::vector<std::pair<double, double>> Cdf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::vector<std::pair<double, double>> out;
  const size_t n = values.size();
  const size_t stride = std::max<size_t>(1, n / kMaxPoints);
  for (size_t i = 0; i < n; i += stride) {
    out.push_back({values[i], 100.0 * static_cast<double>(i + 1) / static_cast<double>(n)});
  }
  if (n > 0 && out.back().second < 100.0) out.push_back({values.back(), 100.0});
  return out;
}

// Per-job JCT and finish-time fairness of the measured, completed jobs.
void MeasuredJobs(const SimResult& r, std::vector<double>* jct, std::vector<double>* ftf) {
  const int64_t to = r.window_to > 0 ? r.window_to : static_cast<int64_t>(r.records.size());
  for (int64_t i = r.window_from; i < to && i < static_cast<int64_t>(r.records.size()); ++i) {
    const JobRecord& rec = r.records[i];
    if (rec.infeasible || rec.finish < rec.submit) continue;
    const double j = ToSeconds(rec.finish - rec.submit);
    jct->push_back(j);
    ftf->push_back(j / std::max(1e-6, ToSeconds(rec.alone)));
  }
}

// Grouped bars: per queue, one bar per policy (share of GPU time), and the queue's quota
// as a share of the cluster's GPUs drawn as a dashed line where the spec gives one.
std::string QueueShareChart(const std::vector<SimResult>& results, const model::Cluster& cluster) {
  // Queues by total use across policies, biggest first; the tail folds into "other".
  std::map<std::string, double> total;
  for (const auto& r : results) {
    for (const auto& q : r.queue_usage) total[q.queue] += q.gpu_s;
  }
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [q, s] : total) order.push_back({-s, q});
  std::sort(order.begin(), order.end());
  std::vector<std::string> shown;
  for (const auto& [neg, q] : order) {
    if (shown.size() < kMaxQueuesDrawn) shown.push_back(q);
  }
  const bool other = order.size() > shown.size();
  const size_t groups = shown.size() + (other ? 1 : 0);
  std::map<std::string, double> quota;  // share of the cluster's GPUs
  for (const auto& q : cluster.queues()) {
    if (q.quota_gpus && cluster.total_gpus() > 0) {
      quota[q.name] = 100.0 * q.quota_gpus->ToDouble() / static_cast<double>(cluster.total_gpus());
    }
  }
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\">\n"
      "<title>Share of GPU time per queue</title>\n"
      "<text x=\"{}\" y=\"18\" class=\"t\">Share of GPU time per queue (dashed: guaranteed "
      "quota)</text>\n",
      kWidth, kHeight, kWidth, kHeight, kLeft);
  if (groups == 0 || results.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\">no data</text>\n</svg>\n", kLeft, kHeight / 2);
    return out;
  }
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  double ymax = 0;
  std::vector<std::vector<double>> share(results.size(), std::vector<double>(groups, 0.0));
  for (size_t p = 0; p < results.size(); ++p) {
    double sum = 0;
    for (const auto& q : results[p].queue_usage) sum += q.gpu_s;
    for (const auto& q : results[p].queue_usage) {
      auto it = std::find(shown.begin(), shown.end(), q.queue);
      const size_t g = it == shown.end() ? groups - 1 : static_cast<size_t>(it - shown.begin());
      share[p][g] += sum > 0 ? 100.0 * q.gpu_s / sum : 0;
    }
    for (double v : share[p]) ymax = std::max(ymax, v);
  }
  for (const auto& [q, v] : quota) ymax = std::max(ymax, v);
  const double ystep = NiceStep(ymax > 0 ? ymax : 1);
  ymax = std::max(ystep, std::ceil(ymax / ystep) * ystep);
  auto py = [&](double y) { return kTop + ph - (y / ymax) * ph; };
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"frame\"/>\n", kLeft,
                     kTop, pw, ph);
  for (double y = 0; y <= ymax + 1e-9; y += ystep) {
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" class=\"yl\">{5}%</text>\n",
        kLeft, py(y), kLeft + pw, kLeft - 4, py(y) + 4, Num(y));
  }
  const double gw = pw / static_cast<double>(groups);
  const double bw = std::max(1.0, (gw - 6) / static_cast<double>(results.size()));
  for (size_t g = 0; g < groups; ++g) {
    const std::string name = g < shown.size() ? (shown[g].empty() ? "(default)" : shown[g]) : "other";
    const double gx = kLeft + g * gw + 3;
    for (size_t p = 0; p < results.size(); ++p) {
      const double v = share[p][g];
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{} {}: {:.1f}%</title></rect>\n",
          gx + p * bw, py(v), bw, kTop + ph - py(v), Color(p), Esc(name),
          Esc(results[p].policy), v);
    }
    if (g < shown.size()) {
      if (auto it = quota.find(shown[g]); it != quota.end()) {
        out += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" class=\"quota\"/>\n",
            gx, py(it->second), gx + gw - 6);
      }
    }
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xl\">{}</text>\n", gx + (gw - 6) / 2,
                       kTop + ph + 14, Esc(name.size() > 10 ? name.substr(0, 10) : name));
  }
  for (size_t p = 0; p < results.size(); ++p) {
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"lg\">{}</text>\n",
        kLeft + pw - 260, kTop + 6 + 14 * p, Color(p), kLeft + pw - 246, kTop + 15 + 14 * p,
        Esc(results[p].policy));
  }
  out += "</svg>\n";
  return out;
}

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    ".chart{display:block;margin:16px 0;background:#fff}"
    ".frame{fill:none;stroke:#999}.grid{stroke:#eee}"
    ".quota{stroke:#000;stroke-width:2;stroke-dasharray:4 3}"
    ".t{font-size:14px;font-weight:bold}.xl{font-size:11px;text-anchor:middle}"
    ".yl{font-size:11px;text-anchor:end}.lg{font-size:11px}"
    ".note{color:#555;font-size:13px}";

}  // namespace

std::string RenderHtmlReport(const std::vector<SimResult>& results, const ReportOptions& opts,
                             const model::Cluster& cluster) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  out += "<title>baton sim report</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>baton sim report</h1>\n";
  if (!opts.cluster_summary.empty()) {
    out += fmt::format("<p>Cluster: {}</p>\n", Esc(opts.cluster_summary));
  }
  if (!opts.trace_summary.empty()) out += fmt::format("<p>Jobs: {}</p>\n", Esc(opts.trace_summary));

  // Summary table.
  out += "<h2>Summary</h2>\n<table>\n<tr><th>policy</th><th>jobs</th><th>measured</th>"
         "<th>infeasible</th><th>avg JCT</th><th>p50 JCT</th><th>p99 JCT</th><th>avg queue</th>"
         "<th>makespan</th><th>GPU util</th><th>preemptions</th><th>lost GPU-h</th>"
         "<th>FTF mean</th><th>FTF worst</th></tr>\n";
  std::vector<Series> jct_cdf, ftf_cdf, pending, util, preempt;
  for (const auto& r : results) {
    std::vector<double> jct, ftf;
    MeasuredJobs(r, &jct, &ftf);
    double ftf_mean = 0, ftf_worst = 0;
    for (double f : ftf) ftf_mean += f, ftf_worst = std::max(ftf_worst, f);
    if (!ftf.empty()) ftf_mean /= static_cast<double>(ftf.size());
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{:.1f}%</td><td>{}</td><td>{:.1f}</td><td>{:.2f}</td>"
        "<td>{:.2f}</td></tr>\n",
        Esc(r.policy), r.jobs, jct.size(), r.infeasible, Human(r.avg_jct_s), Human(r.p50_jct_s),
        Human(r.p99_jct_s), Human(r.avg_queue_s), Human(r.makespan_s), r.gpu_utilization * 100,
        r.preemptions, r.lost_gpu_hours, ftf_mean, ftf_worst);
    jct_cdf.push_back({r.policy, Cdf(jct)});
    ftf_cdf.push_back({r.policy, Cdf(ftf)});
    std::vector<std::pair<double, double>> q, u, pre;
    for (const auto& pt : r.timeline) {
      q.push_back({pt.t_s, static_cast<double>(pt.pending)});
      u.push_back({pt.t_s, r.cluster_gpus > 0 ? 100.0 * static_cast<double>(pt.busy_gpus) /
                                                    static_cast<double>(r.cluster_gpus)
                                              : 0.0});
      pre.push_back({pt.t_s, static_cast<double>(pt.preemptions)});
    }
    pending.push_back({r.policy, Resample(q)});
    util.push_back({r.policy, Resample(u)});
    // Cumulative counts: thin by taking every k-th point, keeping the last.
    std::vector<std::pair<double, double>> thin;
    const size_t stride = std::max<size_t>(1, pre.size() / kMaxPoints);
    for (size_t i = 0; i < pre.size(); i += stride) thin.push_back(pre[i]);
    if (!pre.empty() && thin.back() != pre.back()) thin.push_back(pre.back());
    preempt.push_back({r.policy, std::move(thin)});
  }
  out += "</table>\n";
  out += "<p class=\"note\">JCT = finish - submit. FTF (finish-time fairness) = a job's JCT "
         "divided by its run time alone on its fastest GPU type: 1 is as good as having the "
         "cluster to itself. Measured = the completed jobs the numbers cover (the "
         "--measure-jobs window when one is given).</p>\n";

  out += "<h2>Job completion times</h2>\n";
  out += LineChart("JCT CDF (measured jobs)", jct_cdf, {"JCT (log scale)", true, true},
                   {"% of jobs", false, false, true}, false);
  out += LineChart("Finish-time fairness CDF (JCT shared / JCT alone)", ftf_cdf,
                   {"FTF (log scale)", true, false}, {"% of jobs", false, false, true}, false);

  const bool timeline = std::any_of(results.begin(), results.end(),
                                    [](const SimResult& r) { return !r.timeline.empty(); });
  out += "<h2>Over time</h2>\n";
  if (!timeline) {
    out += "<p class=\"note\">No timeline was recorded for these runs.</p>\n";
  }
  out += LineChart("Queue length (pending jobs, time-weighted average)", pending,
                   {"time since the first submit", false, true}, {"pending jobs"}, false);
  out += LineChart("GPU utilization (time-weighted average)", util,
                   {"time since the first submit", false, true},
                   {"GPUs busy", false, false, true}, false);
  out += LineChart("Preemptions (cumulative)", preempt, {"time since the first submit", false, true},
                   {"preemptions"}, true);
  out += "<p class=\"note\">Lost GPU-hours: work thrown away by preemptions (GPU time since a "
         "victim's last checkpoint); see the table. Preempted jobs in this simulator resume "
         "where they stopped unless checkpoints are modelled.</p>\n";

  out += "<h2>Queues</h2>\n";
  out += QueueShareChart(results, cluster);
  out += "</body>\n</html>\n";
  return out;
}

Status WriteHtmlReport(const std::vector<SimResult>& results, const ReportOptions& opts,
                       const model::Cluster& cluster, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument(fmt::format("--report: cannot create {}: {}", dir, ec.message()));
  const std::string path = (std::filesystem::path(dir) / "index.html").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument(fmt::format("--report: cannot write {}", path));
  out << RenderHtmlReport(results, opts, cluster);
  out.close();
  if (!out) return InvalidArgument(fmt::format("--report: cannot write {}", path));
  return Status::Ok();
}

}  // namespace baton::sim
