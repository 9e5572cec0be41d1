// yaml_util: the small toolkit the spec parsers (cluster_yaml, job_yaml) share.
//
// It is the adapter around yaml-cpp, which reports errors by throwing: nothing here lets a
// YAML::Exception escape (callers still wrap their whole parse in a try block as a
// backstop, see GuardYaml). Every value is handled as a Field, which carries its field path
// ("pools[1].gpus_per_node") and 1-based source line, so that every error reads
//
//   cluster.yaml:12: pools[1].gpus_per_node: must be between 1 and 64, got 0
//
// The readers here are strict on purpose: a quoted "8" is a string, not an integer; keys
// are checked against a list of known fields (with a "did you mean" suggestion); duplicate
// keys are errors rather than yaml-cpp's silent first-one-wins. A YAML null (`key:` with
// no value, or `~`) means "not given".
//
// Not responsible for: what the fields mean or their cross-field rules (the parsers).
// Thread-safety: SpecReader is immutable after construction; free functions are pure.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/quantity.h"
#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::spec {

// One YAML value with the context that error messages need.
struct Field {
  YAML::Node node;   // the value; may be a null node ("not given")
  std::string key;   // last path component ("gpus_per_node"); "" for list items and roots
  std::string path;  // full field path ("pools[1].gpus_per_node"); "" for the root
  int line = 0;      // 1-based line of the key (or of the item); 0 = unknown

  bool is_null() const { return !node.IsDefined() || node.IsNull(); }
};

// Joins a field path: ("pools[1]", "count") -> "pools[1].count"; ("", "count") -> "count".
std::string JoinPath(std::string_view parent, std::string_view key);

// Levenshtein distance between two strings (insert, delete, substitute each cost 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo, else "".
// Ties go to the earlier candidate, so suggestions are deterministic.
std::string SuggestName(std::string_view word, const std::vector<std::string_view>& candidates);

// Parses a duration: a whole number of seconds ("3600"), or one or more <number><unit>
// pieces with units s, m, h, d ("90s", "15m", "2h", "1d", "1h30m"). Errors name nothing
// (the caller adds the field path).
Result<Duration> ParseDurationText(std::string_view text);

// Reads a whole file. NotFound if it does not exist, FailedPrecondition if it cannot be
// read (a directory, no permission).
Result<std::string> ReadFileText(const std::string& path);

// Reads typed values out of Fields and formats errors for one source (file name).
class SpecReader {
 public:
  explicit SpecReader(std::string_view source) : source_(source) {}

  const std::string& source() const { return source_; }

  // "source:line: path: message"; the line or path part is left out when unknown/empty.
  Status Error(int line, std::string_view path, std::string_view message) const;
  Status Error(const Field& f, std::string_view message) const {
    return Error(f.line, f.path, message);
  }

  // Parses `text` as exactly one YAML document whose top level is a mapping. `expected`
  // describes the content for messages ("a cluster spec (a mapping with pools:)"). A
  // second document that is empty (a trailing `---`) is ignored. Does not use
  // YAML::LoadAll, which can hang on malformed input in yaml-cpp 0.7.
  Result<Field> ParseDocument(std::string_view text, std::string_view expected) const;

  // The entries of a mapping in file order, each a Field with key, path and line.
  // Errors: not a mapping, a non-scalar or duplicate key, a key not in `known` (an empty
  // `known` accepts any key).
  Result<std::vector<Field>> Entries(const Field& map,
                                     const std::vector<std::string_view>& known) const;
  // The items of a sequence, paths "path[0]", "path[1]", ...; errors if not a sequence.
  Result<std::vector<Field>> Items(const Field& list) const;

  // A scalar as a string (any unquoted scalar is accepted: `gpu_type: 100` is "100").
  Result<std::string> String(const Field& f) const;
  // A plain (unquoted) decimal integer in [min, max].
  Result<int64_t> Int(const Field& f, int64_t min, int64_t max) const;
  // A plain true / false (also True, TRUE, False, FALSE: YAML 1.2's core schema).
  Result<bool> Bool(const Field& f) const;
  // A plain number with at most 3 decimals ("8", "0.5"); no range check.
  Result<Quantity> QuantityValue(const Field& f) const;
  // A duration: a plain integer of seconds, or a string accepted by ParseDurationText.
  Result<Duration> DurationValue(const Field& f) const;
  // A byte size: bytes or 512Mi, 16Gi, 2G (ParseByteSize).
  Result<int64_t> ByteSizeValue(const Field& f) const;
  // A list of non-empty strings. A single scalar instead of a list is refused (kReject),
  // taken as a one-item list (kOneItem: `gpu_type: H100`), or split on whitespace
  // (kSplitOnWhitespace: `command: python train.py`).
  enum class ScalarForm { kReject, kOneItem, kSplitOnWhitespace };
  Result<std::vector<std::string>> StringList(const Field& f, ScalarForm scalar_form) const;

 private:
  // "a list", "a mapping", "null", "the string \"8\"", ... for "expected X, got Y".
  static std::string Describe(const YAML::Node& node);

  std::string source_;
};

// Runs `body` and turns any exception that escapes it into an error Status for `source`
// (yaml-cpp's with the line it names). The backstop that keeps exceptions inside the module.
Status GuardYaml(std::string_view source, const std::function<Status()>& body);

}  // namespace baton::spec
