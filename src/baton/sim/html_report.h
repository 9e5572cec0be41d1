// HTML report for `baton sim --report DIR`: one self-contained page (DIR/index.html) with
// inline SVG charts, no scripts, no external resources, so it opens offline and can be
// attached to a review.
//
// Charts: the JCT CDF per policy; queue length and GPU utilization over time; each
// queue's share of GPU time next to its guaranteed quota (from the cluster spec, when it
// has one); preemptions over time and GPU-hours lost to them. A table gives per policy the
// numbers of the text report plus finish-time fairness (JCT shared / JCT alone), mean and
// worst. The timeline needs SimOptions::record_timeline; without it those charts say so.
//
// Errors: the directory cannot be created or the file cannot be written.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/model/cluster.h"
#include "baton/sim/report.h"
#include "baton/sim/simulator.h"

namespace baton::sim {

// The page as a string (what WriteHtmlReport writes).
std::string RenderHtmlReport(const std::vector<SimResult>& results, const ReportOptions& opts,
                             const model::Cluster& cluster);
Status WriteHtmlReport(const std::vector<SimResult>& results, const ReportOptions& opts,
                       const model::Cluster& cluster, const std::string& dir);

}  // namespace baton::sim
