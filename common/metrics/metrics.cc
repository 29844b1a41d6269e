#include "common/metrics/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace runnel::metrics {
namespace {

void AtomicAdd(std::atomic<double>* a, double by) {
  double old = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(old, old + by, std::memory_order_relaxed)) {
  }
}

// Prometheus floats: integers without a fraction, +Inf/-Inf/NaN spelled its
// way.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.9g", v);
}

std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", EscapeLabelValue(values[i]),
                    "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  return out.empty() ? out : absl::StrCat("{", out, "}");
}

void Header(std::string* out, const std::string& name, const std::string& help,
            const std::string& type) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

void Counter::Increment(double by) { AtomicAdd(&value_, by); }
double Counter::value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Add(double by) { AtomicAdd(&value_, by); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  const size_t bucket = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
}

uint64_t Histogram::cumulative_count(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b <= bounds_->size(); ++b) {
    total += counts_[b].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void SampleWriter::Begin(const std::string& name, const std::string& help,
                         const std::string& type) {
  Header(&out_, name, help, type);
}

void SampleWriter::Sample(const std::string& name, const std::vector<std::string>& label_names,
                          const std::vector<std::string>& label_values, double value) {
  absl::StrAppend(&out_, name, Labels(label_names, label_values), " ", FormatValue(value), "\n");
}

void SampleWriter::Single(const std::string& name, const std::string& help, const std::string& type,
                          double value) {
  Begin(name, help, type);
  Sample(name, {}, {}, value);
}

Family<Counter>* Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(name, help, std::move(label_names)));
  return counters_.back().get();
}

Family<Gauge>* Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(label_names)));
  return gauges_.back().get();
}

Family<Histogram>* Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  absl::MutexLock lock(&mu_);
  histograms_.push_back(
      std::make_unique<Family<Histogram>>(name, help, std::move(label_names), std::move(bounds)));
  return histograms_.back().get();
}

void Registry::AddCollector(std::function<void(SampleWriter&)> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  SampleWriter w;
  std::string& out = w.out();
  absl::MutexLock lock(&mu_);
  auto simple = [&out](const auto& families, const char* type) {
    for (const auto& f : families) {
      Header(&out, f->name_, f->help_, type);
      absl::MutexLock family_lock(&f->mu_);
      for (const auto& [values, child] : f->children_) {
        absl::StrAppend(&out, f->name_, Labels(f->label_names_, values), " ",
                        FormatValue(child->value()), "\n");
      }
    }
  };
  simple(counters_, "counter");
  simple(gauges_, "gauge");
  for (const auto& f : histograms_) {
    Header(&out, f->name_, f->help_, "histogram");
    absl::MutexLock family_lock(&f->mu_);
    for (const auto& [values, h] : f->children_) {
      for (size_t i = 0; i <= f->bounds_.size(); ++i) {
        const std::string le = i < f->bounds_.size() ? FormatValue(f->bounds_[i]) : "+Inf";
        absl::StrAppend(&out, f->name_, "_bucket", Labels(f->label_names_, values, "le", le), " ",
                        h->cumulative_count(i), "\n");
      }
      absl::StrAppend(&out, f->name_, "_sum", Labels(f->label_names_, values), " ",
                      FormatValue(h->sum()), "\n");
      absl::StrAppend(&out, f->name_, "_count", Labels(f->label_names_, values), " ",
                      h->cumulative_count(f->bounds_.size()), "\n");
    }
  }
  for (const auto& collect : collectors_) collect(w);
  return out;
}

}  // namespace runnel::metrics
