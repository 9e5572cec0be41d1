// Registry: baton's Prometheus metrics, rendered in the text exposition format 0.0.4.
//
// A Registry owns metric families. A family has a name (`baton_<subsystem>_<thing>_<unit>`),
// a help line, a type (counter, gauge, histogram), optional constant labels and optional
// label names whose values pick one child metric (e.g. `baton_jobs{state="pending"}`).
// Families are never removed, so the references the Add* calls and WithLabels() return stay
// valid for the registry's lifetime: look a child up once, keep the reference, and the hot
// path (Inc, Set, Observe) is a few atomic operations with no lock.
//
// Render() orders families by name and children by their label values, so the same
// metrics give byte-identical output. Callback gauges run their callback inside Render(),
// on the scraping thread; a callback must not register metrics on the same registry.
//
// Not responsible for: serving HTTP (see http_server.h), push gateways, metric expiry.
//
// Errors: registering an invalid name, a name twice with a different shape, or asking a
// family for the wrong number of label values is a programming error, and aborts with a
// message (like client_golang's MustRegister). Registering the same name twice with the same
// type, help and label names returns the existing family.
//
// Thread-safety: every method is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baton::metrics {

// Constant labels, rendered in the order given.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing value (events, bytes, seconds spent).
class Counter {
 public:
  // Adds `delta`, which must not be negative (negative deltas are ignored).
  void Inc(double delta = 1.0) {
    if (delta > 0) value_.fetch_add(delta, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (queue length, free GPUs).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Inc() { Add(1.0); }
  void Dec() { Add(-1.0); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive), plus their sum.
class Histogram {
 public:
  // `bounds` must be strictly increasing; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  // A copy of the state for rendering and tests. `cumulative[i]` counts observations
  // <= bounds[i]; the last entry is the +Inf bucket and equals `count`.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Snap() const;

 private:
  const std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts; bounds_.size() + 1 entries, the last is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

// Buckets for latencies in seconds, from 1 ms to 10 s.
std::vector<double> DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// What every family shares; Registry keeps them by name.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, Labels const_labels);
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const Labels& const_labels() const { return const_labels_; }

  // Appends this family's # HELP, # TYPE and sample lines to `out`.
  void Render(std::string* out) const;

 protected:
  // Appends the sample lines only.
  virtual void RenderSamples(std::string* out) const = 0;
  // The full label set of the child with `values`: constant labels, then label_names().
  Labels LabelsFor(const std::vector<std::string>& values) const;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const Labels const_labels_;
};

// A family of Counters, Gauges or Histograms, one child per distinct label values.
template <typename Metric>
class Family final : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<Metric>()>;
  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, Labels const_labels, Factory factory)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names),
                   std::move(const_labels)),
        factory_(std::move(factory)) {}

  // The child for `values` (one per label name, in order), created on first use. Takes a
  // lock: callers on hot paths should keep the returned reference.
  Metric& WithLabels(const std::vector<std::string>& values);

 private:
  void RenderSamples(std::string* out) const override;

  const Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;  // guarded by mu_
};

// One sample a callback family reports: label values (one per label name) and value.
struct GaugeSample {
  std::vector<std::string> label_values;
  double value = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Single metrics (no variable labels).
  Counter& AddCounter(std::string_view name, std::string_view help, Labels const_labels = {});
  Gauge& AddGauge(std::string_view name, std::string_view help, Labels const_labels = {});
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::vector<double> bounds, Labels const_labels = {});

  // Families keyed by `label_names`.
  Family<Counter>& AddCounterFamily(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names,
                                    Labels const_labels = {});
  Family<Gauge>& AddGaugeFamily(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names, Labels const_labels = {});
  Family<Histogram>& AddHistogramFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds, Labels const_labels = {});

  // Gauges computed at scrape time: `fn` runs inside Render() on the scraping thread and
  // must be thread-safe. The family variant's samples are sorted by label values when
  // rendered; duplicate label values are a programming error (the first wins).
  void AddGaugeCallback(std::string_view name, std::string_view help, std::function<double()> fn,
                        Labels const_labels = {});
  void AddGaugeFamilyCallback(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names,
                              std::function<std::vector<GaugeSample>()> fn,
                              Labels const_labels = {});
  // Counters computed at scrape time, from a value that only grows (a count kept
  // elsewhere); the same rules as the gauge callbacks.
  void AddCounterCallback(std::string_view name, std::string_view help,
                          std::function<double()> fn, Labels const_labels = {});
  void AddCounterFamilyCallback(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<GaugeSample>()> fn,
                                Labels const_labels = {});

  // The whole registry in the Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  // Returns the existing family called `name` if it has the same shape (aborts if not), or
  // stores and returns `fresh`.
  FamilyBase* Insert(std::unique_ptr<FamilyBase> fresh);
  // Stores a callback family; aborts if the name is taken.
  void InsertCallback(std::unique_ptr<FamilyBase> fresh);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;  // guarded by mu_
};

// Text-format helpers, exposed for tests and other exporters.
// A sample value: integers without a decimal point, others in shortest round-trip form,
// and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
// Escapes `\` and newline (help text) and also `"` (label values).
std::string EscapeHelp(std::string_view text);
std::string EscapeLabelValue(std::string_view text);
// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace baton::metrics
