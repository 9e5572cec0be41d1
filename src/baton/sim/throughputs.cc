#include "baton/sim/throughputs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baton/common/limits.h"

namespace baton::sim {
namespace {

constexpr std::string_view kColumnSuffix = "_steps_per_s";
constexpr std::string_view kUnconsolidated = "_unconsolidated";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits one CSV line; fields may be double-quoted ("a, b"), with "" for a quote.
Result<std::vector<std::string>> SplitCsv(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && Trim(cur).empty()) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (c == ',') {
      out.push_back(was_quoted ? cur : std::string(Trim(cur)));
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  if (quoted) return InvalidArgument("unterminated quoted field");
  out.push_back(was_quoted ? cur : std::string(Trim(cur)));
  return out;
}

bool ParseRate(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out) && *out >= 0;
}

bool ParseScale(std::string_view s, int* out) {
  s = Trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 1 && *out <= 1024;
}

// "('ResNet-18 (batch size 16)', 1)" -> ("ResNet-18 (batch size 16)", 1).
bool ParseJsonKey(std::string_view key, std::string* job_type, int* scale) {
  if (!key.starts_with("('") || !key.ends_with(")")) return false;
  const size_t close = key.rfind("', ");
  if (close == std::string_view::npos || close < 2) return false;
  *job_type = std::string(key.substr(2, close - 2));
  if (job_type->empty()) return false;
  return ParseScale(key.substr(close + 3, key.size() - 1 - (close + 3)), scale);
}

}  // namespace

Result<ThroughputTable> ThroughputTable::Parse(std::string_view text, std::string_view source) {
  if (text.size() > limits::kMaxThroughputBytes) {
    return InvalidArgument(fmt::format("{}: {} bytes; at most {}", source, text.size(),
                                       limits::kMaxThroughputBytes));
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return InvalidArgument(fmt::format("{}: the throughput file is empty", source));
  }
  return text[first] == '{' ? ParseJson(text, source) : ParseCsv(text, source);
}

Result<ThroughputTable> ThroughputTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open the throughput file", path));
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(path, ec);
      !ec && size > limits::kMaxThroughputBytes) {
    return InvalidArgument(fmt::format("{}: {} bytes; at most {}", path, size,
                                       limits::kMaxThroughputBytes));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument(fmt::format("{}: read error", path));
  return Parse(ss.str(), path);
}

Result<ThroughputTable> ThroughputTable::ParseCsv(std::string_view text,
                                                  std::string_view source) {
  ThroughputTable t;
  t.source_ = std::string(source);
  std::istringstream in{std::string(text)};
  int line_no = 0;
  int job_col = -1, scale_col = -1;
  std::vector<int> gpu_cols;  // column index for each of t.gpu_types_
  size_t width = 0;
  bool header = false;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.size() > limits::kMaxTraceLineBytes) {
      return InvalidArgument(fmt::format("{}:{}: the line is {} bytes; at most {}", source,
                                         line_no, line.size(), limits::kMaxTraceLineBytes));
    }
    if (Trim(line).empty()) continue;
    auto fields = SplitCsv(line);
    if (!fields.ok()) return fields.status().WithPrefix(fmt::format("{}:{}", source, line_no));
    if (!header) {
      header = true;
      width = fields->size();
      for (size_t c = 0; c < fields->size(); ++c) {
        const std::string name = Lower((*fields)[c]);
        if (name == "job_type") {
          job_col = static_cast<int>(c);
        } else if (name == "scale_factor") {
          scale_col = static_cast<int>(c);
        } else if (name.size() > kColumnSuffix.size() && name.ends_with(kColumnSuffix)) {
          const std::string gpu = name.substr(0, name.size() - kColumnSuffix.size());
          if (t.GpuIndex(gpu) >= 0) {
            return InvalidArgument(fmt::format("{}:{}: column '{}' appears twice", source,
                                               line_no, (*fields)[c]));
          }
          t.gpu_types_.push_back(gpu);
          gpu_cols.push_back(static_cast<int>(c));
        } else {
          return InvalidArgument(fmt::format(
              "{}:{}: unknown column '{}'; expected job_type, scale_factor and "
              "<gpu type>_steps_per_s columns",
              source, line_no, (*fields)[c]));
        }
      }
      if (job_col < 0 || scale_col < 0 || gpu_cols.empty()) {
        return InvalidArgument(fmt::format(
            "{}:{}: the header needs job_type, scale_factor and at least one "
            "<gpu type>_steps_per_s column",
            source, line_no));
      }
      continue;
    }
    if (fields->size() != width) {
      return InvalidArgument(fmt::format("{}:{}: expected {} fields, got {}", source, line_no,
                                         width, fields->size()));
    }
    const std::string& job = (*fields)[job_col];
    if (job.empty()) {
      return InvalidArgument(fmt::format("{}:{}: job_type: is empty", source, line_no));
    }
    int scale = 0;
    if (!ParseScale((*fields)[scale_col], &scale)) {
      return InvalidArgument(fmt::format(
          "{}:{}: scale_factor: expected a whole number from 1 to 1024, got '{}'", source,
          line_no, (*fields)[scale_col]));
    }
    std::vector<std::optional<double>> rates(t.gpu_types_.size());
    for (size_t g = 0; g < gpu_cols.size(); ++g) {
      double v = 0;
      if (!ParseRate((*fields)[gpu_cols[g]], &v)) {
        return InvalidArgument(
            fmt::format("{}:{}: {}{}: expected steps per second (a number >= 0), got '{}'",
                        source, line_no, t.gpu_types_[g], kColumnSuffix,
                        (*fields)[gpu_cols[g]]));
      }
      rates[g] = v;
    }
    if (!t.rows_.emplace(Key{job, scale}, std::move(rates)).second) {
      return InvalidArgument(fmt::format("{}:{}: job type '{}' at scale factor {} appears twice",
                                         source, line_no, job, scale));
    }
  }
  if (!header) return InvalidArgument(fmt::format("{}: the throughput file is empty", source));
  if (t.rows_.empty()) {
    return InvalidArgument(fmt::format("{}: no throughput rows after the header", source));
  }
  return t;
}

Result<ThroughputTable> ThroughputTable::ParseJson(std::string_view text,
                                                   std::string_view source) {
  using json = nlohmann::json;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  if (!doc.is_object()) {
    return InvalidArgument(fmt::format("{}: expected an object of GPU types", source));
  }
  ThroughputTable t;
  t.source_ = std::string(source);
  // Pass 1: the GPU types (json objects iterate in key order, so this is deterministic).
  for (const auto& [gpu, entries] : doc.items()) {
    if (gpu.ends_with(kUnconsolidated)) continue;
    if (!entries.is_object()) {
      return InvalidArgument(fmt::format("{}: {}: expected an object of job types", source, gpu));
    }
    const std::string name = Lower(gpu);
    if (t.GpuIndex(name) >= 0) {
      return InvalidArgument(fmt::format("{}: {}: GPU type appears twice", source, gpu));
    }
    t.gpu_types_.push_back(name);
  }
  if (t.gpu_types_.empty()) {
    return InvalidArgument(fmt::format("{}: no GPU types in the throughput file", source));
  }
  for (const auto& [gpu, entries] : doc.items()) {
    if (gpu.ends_with(kUnconsolidated)) continue;
    const int g = t.GpuIndex(Lower(gpu));
    for (const auto& [key, value] : entries.items()) {
      std::string job;
      int scale = 0;
      if (!ParseJsonKey(key, &job, &scale)) {
        return InvalidArgument(fmt::format(
            "{}: {}.\"{}\": expected a key like \"('<job type>', <scale factor>)\"", source, gpu,
            key));
      }
      if (!value.is_object() || !value.contains("null")) {
        return InvalidArgument(fmt::format(
            "{}: {}.\"{}\": expected an object with the alone throughput under \"null\"", source,
            gpu, key));
      }
      const json& alone = value["null"];
      if (!alone.is_number() || !std::isfinite(alone.get<double>()) || alone.get<double>() < 0) {
        return InvalidArgument(fmt::format(
            "{}: {}.\"{}\".null: expected steps per second (a number >= 0), got {}", source, gpu,
            key, alone.dump()));
      }
      auto& row = t.rows_[Key{job, scale}];
      row.resize(t.gpu_types_.size());
      row[g] = alone.get<double>();
    }
  }
  if (t.rows_.empty()) {
    return InvalidArgument(fmt::format("{}: no job types in the throughput file", source));
  }
  return t;
}

int ThroughputTable::GpuIndex(std::string_view gpu_type) const {
  const std::string name = Lower(gpu_type);
  for (size_t i = 0; i < gpu_types_.size(); ++i) {
    if (gpu_types_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::optional<double> ThroughputTable::Get(std::string_view job_type, int scale_factor,
                                           std::string_view gpu_type) const {
  const int g = GpuIndex(gpu_type);
  if (g < 0) return std::nullopt;
  auto it = rows_.find(Key{std::string(job_type), scale_factor});
  if (it == rows_.end()) return std::nullopt;
  return it->second[g];
}

bool ThroughputTable::Has(std::string_view job_type, int scale_factor) const {
  return rows_.count(Key{std::string(job_type), scale_factor}) > 0;
}

std::vector<std::string> ThroughputTable::job_types() const {
  std::vector<std::string> out;
  for (const auto& [key, row] : rows_) {
    if (out.empty() || out.back() != key.first) out.push_back(key.first);
  }
  return out;
}

std::vector<int> ThroughputTable::scale_factors(std::string_view job_type) const {
  std::vector<int> out;
  for (auto it = rows_.lower_bound(Key{std::string(job_type), 0});
       it != rows_.end() && it->first.first == job_type; ++it) {
    out.push_back(it->first.second);
  }
  return out;
}

}  // namespace baton::sim
