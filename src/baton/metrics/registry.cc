#include "baton/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace baton::metrics {
namespace {

// Registration mistakes are bugs in baton, not runtime conditions: stop loudly.
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "baton::metrics: %s\n", what.c_str());
  std::abort();
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Appends `{k="v",...}` (nothing when `labels` is empty).
void AppendLabels(const Labels& labels, std::string* out) {
  if (labels.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(labels[i].first);
    out->append("=\"");
    out->append(EscapeLabelValue(labels[i].second));
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendSample(std::string_view name, const Labels& labels, double value, std::string* out) {
  out->append(name);
  AppendLabels(labels, out);
  out->push_back(' ');
  out->append(FormatValue(value));
  out->push_back('\n');
}

void AppendMetric(const std::string& name, const Labels& labels, const Counter& c,
                  std::string* out) {
  AppendSample(name, labels, c.Value(), out);
}

void AppendMetric(const std::string& name, const Labels& labels, const Gauge& g,
                  std::string* out) {
  AppendSample(name, labels, g.Value(), out);
}

void AppendMetric(const std::string& name, const Labels& labels, const Histogram& h,
                  std::string* out) {
  const Histogram::Snapshot snap = h.Snap();
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  const std::string bucket = name + "_bucket";
  for (size_t i = 0; i < snap.cumulative.size(); ++i) {
    with_le.back().second =
        i < snap.bounds.size() ? FormatValue(snap.bounds[i]) : std::string("+Inf");
    AppendSample(bucket, with_le, static_cast<double>(snap.cumulative[i]), out);
  }
  AppendSample(name + "_sum", labels, snap.sum, out);
  AppendSample(name + "_count", labels, static_cast<double>(snap.count), out);
}

void CheckLabelNames(const std::string& metric, const std::vector<std::string>& names,
                     MetricType type) {
  for (const auto& n : names) {
    if (!IsValidLabelName(n)) Die("metric " + metric + ": invalid label name '" + n + "'");
    if (type == MetricType::kHistogram && n == "le") {
      Die("metric " + metric + ": label 'le' is reserved for histogram buckets");
    }
  }
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    Die("metric " + metric + ": duplicate label name");
  }
}

std::vector<std::string> AllLabelNames(const Labels& const_labels,
                                       const std::vector<std::string>& label_names) {
  std::vector<std::string> all;
  for (const auto& [k, v] : const_labels) all.push_back(k);
  all.insert(all.end(), label_names.begin(), label_names.end());
  return all;
}

// A gauge family whose samples come from a callback at scrape time.
// A gauge or counter family whose samples a callback computes at scrape time.
class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, Labels const_labels,
                 std::function<std::vector<GaugeSample>()> fn)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names),
                   std::move(const_labels)),
        fn_(std::move(fn)) {}

 private:
  void RenderSamples(std::string* out) const override {
    std::map<std::vector<std::string>, double> sorted;
    for (auto& s : fn_()) {
      if (s.label_values.size() != label_names().size()) {
        Die("metric " + name() + ": callback returned the wrong number of label values");
      }
      sorted.emplace(std::move(s.label_values), s.value);
    }
    for (const auto& [values, v] : sorted) AppendSample(name(), LabelsFor(values), v, out);
  }

  const std::function<std::vector<GaugeSample>()> fn_;
};

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i + 1 < bounds_.size(); ++i) {
    if (!(bounds_[i] < bounds_[i + 1])) Die("histogram bounds must be strictly increasing");
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // The first bound >= value: buckets are upper-inclusive ("le").
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // _count is the +Inf bucket, so the two always agree even mid-Observe.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, Labels const_labels)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      const_labels_(std::move(const_labels)) {
  if (!IsValidMetricName(name_)) Die("invalid metric name '" + name_ + "'");
  CheckLabelNames(name_, AllLabelNames(const_labels_, label_names_), type_);
}

void FamilyBase::Render(std::string* out) const {
  out->append("# HELP ");
  out->append(name_);
  out->push_back(' ');
  out->append(EscapeHelp(help_));
  out->append("\n# TYPE ");
  out->append(name_);
  out->push_back(' ');
  out->append(TypeName(type_));
  out->push_back('\n');
  RenderSamples(out);
}

Labels FamilyBase::LabelsFor(const std::vector<std::string>& values) const {
  Labels labels = const_labels_;
  for (size_t i = 0; i < label_names_.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
  return labels;
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names().size()) {
    Die("metric " + name() + ": expected " + std::to_string(label_names().size()) +
        " label values, got " + std::to_string(values.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = children_[values];
  if (!slot) slot = factory_();
  return *slot;
}

template <typename Metric>
void Family<Metric>::RenderSamples(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, metric] : children_) AppendMetric(name(), LabelsFor(values), *metric, out);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Registry() = default;
Registry::~Registry() = default;

FamilyBase* Registry::Insert(std::unique_ptr<FamilyBase> fresh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(fresh->name());
  if (it == families_.end()) {
    FamilyBase* raw = fresh.get();
    families_.emplace(fresh->name(), std::move(fresh));
    return raw;
  }
  const FamilyBase& old = *it->second;
  if (old.type() != fresh->type() || old.help() != fresh->help() ||
      old.label_names() != fresh->label_names() || old.const_labels() != fresh->const_labels()) {
    Die("metric " + fresh->name() + " registered twice with different shapes");
  }
  return it->second.get();
}

namespace {

template <typename Metric>
Family<Metric>& As(FamilyBase* base) {
  auto* f = dynamic_cast<Family<Metric>*>(base);
  if (f == nullptr) Die("metric " + base->name() + " registered twice with different kinds");
  return *f;
}

}  // namespace

Family<Counter>& Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            Labels const_labels) {
  return As<Counter>(Insert(std::make_unique<Family<Counter>>(
      std::string(name), std::string(help), MetricType::kCounter, std::move(label_names),
      std::move(const_labels), [] { return std::make_unique<Counter>(); })));
}

Family<Gauge>& Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        Labels const_labels) {
  return As<Gauge>(Insert(std::make_unique<Family<Gauge>>(
      std::string(name), std::string(help), MetricType::kGauge, std::move(label_names),
      std::move(const_labels), [] { return std::make_unique<Gauge>(); })));
}

Family<Histogram>& Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds,
                                                Labels const_labels) {
  // Check the bounds now rather than at the first WithLabels().
  Histogram check(bounds);
  return As<Histogram>(Insert(std::make_unique<Family<Histogram>>(
      std::string(name), std::string(help), MetricType::kHistogram, std::move(label_names),
      std::move(const_labels),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); })));
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help,
                              Labels const_labels) {
  return AddCounterFamily(name, help, {}, std::move(const_labels)).WithLabels({});
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help, Labels const_labels) {
  return AddGaugeFamily(name, help, {}, std::move(const_labels)).WithLabels({});
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, Labels const_labels) {
  return AddHistogramFamily(name, help, {}, std::move(bounds), std::move(const_labels))
      .WithLabels({});
}

void Registry::AddGaugeCallback(std::string_view name, std::string_view help,
                                std::function<double()> fn, Labels const_labels) {
  AddGaugeFamilyCallback(
      name, help, {},
      [fn = std::move(fn)] { return std::vector<GaugeSample>{GaugeSample{{}, fn()}}; },
      std::move(const_labels));
}

void Registry::AddGaugeFamilyCallback(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::function<std::vector<GaugeSample>()> fn,
                                      Labels const_labels) {
  InsertCallback(std::make_unique<CallbackFamily>(std::string(name), std::string(help),
                                                  MetricType::kGauge, std::move(label_names),
                                                  std::move(const_labels), std::move(fn)));
}

void Registry::AddCounterCallback(std::string_view name, std::string_view help,
                                  std::function<double()> fn, Labels const_labels) {
  AddCounterFamilyCallback(
      name, help, {},
      [fn = std::move(fn)] { return std::vector<GaugeSample>{GaugeSample{{}, fn()}}; },
      std::move(const_labels));
}

void Registry::AddCounterFamilyCallback(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::function<std::vector<GaugeSample>()> fn,
                                        Labels const_labels) {
  InsertCallback(std::make_unique<CallbackFamily>(std::string(name), std::string(help),
                                                  MetricType::kCounter, std::move(label_names),
                                                  std::move(const_labels), std::move(fn)));
}

void Registry::InsertCallback(std::unique_ptr<FamilyBase> fresh) {
  {
    // A callback cannot be merged with an existing family: its function would be lost.
    std::lock_guard<std::mutex> lock(mu_);
    if (families_.count(fresh->name()) > 0) {
      Die("callback metric " + fresh->name() + " registered twice");
    }
    families_.emplace(fresh->name(), std::move(fresh));
  }
}

std::string Registry::Render() const {
  // Families are never removed, so the pointers outlive the lock; rendering without it lets
  // callbacks take their own locks without ordering against ours.
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, f] : families_) families.push_back(f.get());
  }
  std::string out;
  for (const FamilyBase* f : families) f->Render(&out);
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest round-trip form: 3 -> "3", 0.25 -> "0.25", 1e21 -> "1e+21".
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buf, end);
}

namespace {

// Help text escapes backslash and newline; label values also escape the double quote.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (quote && c == '"') {
      out.append("\\\"");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string EscapeHelp(std::string_view text) { return Escape(text, false); }

std::string EscapeLabelValue(std::string_view text) { return Escape(text, true); }

namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || c == ':' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

}  // namespace baton::metrics
