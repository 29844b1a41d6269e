// Prometheus metrics: counters, gauges and histograms with labels, kept in a
// Registry that renders them in Prometheus' text exposition format (0.0.4).
//
// A service creates its metric families once at startup (Registry::Counter
// and friends return a family that lives as long as the registry) and looks
// up one labelled child per topic, partition or RPC when it first needs it;
// the hot path then only touches that child's atomics. Values that are
// cheaper to read at scrape time than to maintain (log end offsets, ISR
// sizes, RocksDB properties, group lag) come from collectors: callbacks the
// registry runs on every Render.
//
// Ownership: the Registry owns every family and child; pointers to them stay
// valid for the registry's life. Children are never removed (a deleted
// topic's series stay at their last value until restart, as in Kafka's JMX);
// collectors emit only what exists at scrape time.
//
// Thread-safety: everything is thread-safe. Increment/Set/Observe are
// lock-free; WithLabels takes the family's mutex; Render takes every
// family's mutex in turn and runs collectors on the calling thread.
#ifndef RUNNEL_COMMON_METRICS_METRICS_H_
#define RUNNEL_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace runnel::metrics {

// A value that only goes up (events, bytes).
class Counter {
 public:
  void Increment(double by = 1);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets (upper bounds, ascending; +Inf is
// implicit), with their sum, as Prometheus histograms do.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is
  // +Inf.
  uint64_t cumulative_count(size_t i) const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;                // owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 100 us to 10 s: RPCs here range from
// microseconds (metadata) to seconds (long-poll fetches).
std::vector<double> LatencyBuckets();

// One metric name with a fixed list of label names, and a child per
// combination of label values.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The child for these label values (as many as label names), created on
  // first use. Crashes on a count mismatch: that is a programming error.
  T* WithLabels(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }

 private:
  friend class Registry;
  T* Make();

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

// Writes samples for collectors, in the exposition format.
class SampleWriter {
 public:
  // Starts a metric: its # HELP and # TYPE lines ("gauge" or "counter").
  void Begin(const std::string& name, const std::string& help, const std::string& type);
  // One sample of the metric begun last, with label names and values.
  void Sample(const std::string& name, const std::vector<std::string>& label_names,
              const std::vector<std::string>& label_values, double value);
  // A whole metric with one sample and no labels: Begin, then Sample.
  void Single(const std::string& name, const std::string& help, const std::string& type,
              double value);
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Families; `name` must be unique in the registry and a valid Prometheus
  // name ([a-zA-Z_:][a-zA-Z0-9_:]*), `help` one line.
  Family<Counter>* AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>* AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>* AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds = LatencyBuckets());

  // Runs `collect` on every Render, after the families.
  void AddCollector(std::function<void(SampleWriter&)> collect);

  // Every family and collector in the text exposition format.
  std::string Render() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(SampleWriter&)>> collectors_ ABSL_GUARDED_BY(mu_);
};

// Label value escaping of the exposition format: backslash, double quote and
// newline are escaped.
std::string EscapeLabelValue(const std::string& v);

// ---------------------------------------------------------------------------
// Implementation details.

template <typename T>
T* Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    fprintf(stderr, "metric %s: %zu label values for %zu labels\n", name_.c_str(), values.size(),
            label_names_.size());
    abort();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& child = children_[values];
  if (child == nullptr) child.reset(Make());
  return child.get();
}

template <>
inline Histogram* Family<Histogram>::Make() {
  return new Histogram(&bounds_);
}
template <typename T>
T* Family<T>::Make() {
  return new T();
}

}  // namespace runnel::metrics

#endif  // RUNNEL_COMMON_METRICS_METRICS_H_
