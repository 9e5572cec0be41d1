#include "baton/spec/yaml_util.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

#include "baton/common/limits.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace baton::spec {
namespace {

// yaml-cpp's tags for a scalar that was quoted ('x' or "x") or explicitly tagged !!str.
// Such a scalar is a string even when it looks like a number or a boolean.
bool IsQuotedString(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

// 1-based line of a mark, 0 when yaml-cpp has none (nodes built in code).
int LineOf(const YAML::Mark& mark) { return mark.is_null() ? 0 : mark.line + 1; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses an optionally signed run of decimal digits; false on anything else or overflow.
bool ParseDecimal(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return false;
  int64_t value = 0;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    if (value > (INT64_MAX - 9) / 10) return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = negative ? -value : value;
  return true;
}

// Watches parser events, building nothing, to learn whether a text holds a second
// document with content, and where it starts. ParseDocument uses it instead of
// YAML::LoadAll, which in yaml-cpp 0.7 loops forever, allocating until the process dies,
// on input as small as "," (jbeder/yaml-cpp#1040; fixed upstream in PR #1319).
//
// It also bounds nesting (limits::kMaxYamlDepth): a deeper collection throws TooDeep, before
// YAML::Load builds (recursively) a tree of it.
struct TooDeep {
  int line = 0;
};

class DocumentProbe final : public YAML::EventHandler {
 public:
  // 1-based line of the first value of the second document; 0 if there is none.
  int second_document_line() const { return second_line_; }

  void OnDocumentStart(const YAML::Mark&) override { ++documents_; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}  // an empty document
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Content(mark);
    Enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Content(mark);
    Enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void Content(const YAML::Mark& mark) {
    if (documents_ >= 2 && second_line_ == 0) second_line_ = std::max(1, LineOf(mark));
  }
  void Enter(const YAML::Mark& mark) {
    if (++depth_ > limits::kMaxYamlDepth) throw TooDeep{std::max(1, LineOf(mark))};
  }
  int documents_ = 0;
  int second_line_ = 0;
  int depth_ = 0;
};

// Whether a text holds anything besides blank lines, comments and document markers, to
// tell an empty file from one whose top level is null or unreadable.
bool HasContent(std::string_view text) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string_view rest = std::string_view(line).substr(first);
    if (rest.substr(0, 3) == "---" || rest.substr(0, 3) == "...") {
      rest.remove_prefix(3);
      size_t more = rest.find_first_not_of(" \t\r");
      if (more == std::string_view::npos || rest[more] == '#') continue;
    }
    return true;
  }
  return false;
}

}  // namespace

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // One row of the classic dynamic programme; prev[j] = distance(a[0..i), b[0..j)).
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string SuggestName(std::string_view word, const std::vector<std::string_view>& candidates) {
  // Short words tolerate one edit; longer ones about a third of their length.
  const std::string lower = ToLower(word);
  const size_t limit = lower.size() <= 4 ? 1 : std::max<size_t>(2, lower.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(lower, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  if (!best.empty() || lower.size() < 3) return best;
  // A field written without its unit suffix ("quota" for "quota_gpus") is far in edits
  // but plainly meant: suggest the first candidate that starts with the word.
  for (std::string_view c : candidates) {
    if (c.size() > lower.size() && c.substr(0, lower.size()) == lower) return std::string(c);
  }
  return best;
}

Result<Duration> ParseDurationText(std::string_view text) {
  // Bounds every piece and the total so the microsecond count cannot overflow.
  constexpr int64_t kMaxSeconds = int64_t{100} * 365 * 86400;  // a century
  if (text.empty()) return InvalidArgument("empty duration");
  int64_t whole = 0;
  if (ParseDecimal(text, &whole)) {  // bare seconds
    if (whole < 0) return InvalidArgument(fmt::format("must be positive, got {}", text));
    if (whole > kMaxSeconds) return InvalidArgument(fmt::format("'{}' is too long", text));
    return Seconds(whole);
  }
  const std::string bad = fmt::format(
      "'{}' is not a duration; use seconds (3600) or units s, m, h, d (90s, 1h30m, 2d)", text);
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i == text.size() || i - start > 12) return InvalidArgument(bad);
    int64_t n = 0;
    if (!ParseDecimal(text.substr(start, i - start), &n)) return InvalidArgument(bad);
    int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return InvalidArgument(bad);
    }
    ++i;
    if (n > kMaxSeconds / unit || total + n * unit > kMaxSeconds) {
      return InvalidArgument(fmt::format("'{}' is too long", text));
    }
    total += n * unit;
  }
  return Seconds(total);
}

Result<std::string> ReadFileText(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound(fmt::format("{}: no such file", path));
  if (std::filesystem::is_directory(path, ec)) {
    return FailedPrecondition(fmt::format("{}: is a directory, not a file", path));
  }
  if (const auto size = std::filesystem::file_size(path, ec);
      !ec && size > limits::kMaxSpecFileBytes) {
    return InvalidArgument(
        fmt::format("{}: {} bytes; at most {}", path, size, limits::kMaxSpecFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return FailedPrecondition(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return FailedPrecondition(fmt::format("{}: read failed", path));
  return buffer.str();
}

Status SpecReader::Error(int line, std::string_view path, std::string_view message) const {
  std::string out = source_;
  if (line > 0) out += fmt::format(":{}", line);
  out += ": ";
  if (!path.empty()) out += fmt::format("{}: ", path);
  out += message;
  return InvalidArgument(std::move(out));
}

std::string SpecReader::Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string text = node.Scalar();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  if (IsQuotedString(node)) return fmt::format("the string \"{}\"", text);
  return fmt::format("'{}'", text);
}

Result<Field> SpecReader::ParseDocument(std::string_view text, std::string_view expected) const {
  if (text.size() > limits::kMaxSpecFileBytes) {
    return Error(0, "", fmt::format("{} bytes; at most {}", text.size(), limits::kMaxSpecFileBytes));
  }
  const std::string owned(text);
  YAML::Node root_node;
  try {
    // Count documents first, reading at most two (see DocumentProbe), then build the first.
    std::istringstream in(owned);
    YAML::Parser parser(in);
    DocumentProbe probe;
    for (int i = 0; i < 2 && parser.HandleNextDocument(probe); ++i) {
    }
    if (probe.second_document_line() > 0) {
      return Error(probe.second_document_line(), "",
                   "only one YAML document is allowed; found a second one (---)");
    }
    root_node = YAML::Load(owned);
  } catch (const TooDeep& e) {
    return Error(e.line, "", fmt::format("collections nested more than {} deep",
                                         limits::kMaxYamlDepth));
  } catch (const YAML::Exception& e) {
    int line = LineOf(e.mark);
    return Error(
        line, "",
        fmt::format("invalid YAML: {}{}", e.msg,
                    e.mark.is_null() ? "" : fmt::format(" (column {})", e.mark.column + 1)));
  }
  if (root_node.IsNull() && !HasContent(owned)) {
    return Error(1, "", fmt::format("empty document; expected {}", expected));
  }
  Field root{root_node, "", "", std::max(1, LineOf(root_node.Mark()))};
  if (!root.node.IsMap()) {
    return Error(
        root.line, "",
        fmt::format("expected {} at the top level, got {}", expected, Describe(root.node)));
  }
  return root;
}

Result<std::vector<Field>> SpecReader::Entries(const Field& map,
                                               const std::vector<std::string_view>& known) const {
  if (!map.node.IsMap()) {
    return Error(map, fmt::format("expected a mapping, got {}", Describe(map.node)));
  }
  std::vector<Field> out;
  std::map<std::string, int> first_line;  // key -> line where it was first given
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    // Copies, not references: yaml-cpp's iterators hand out a temporary pair proxy.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    int line = LineOf(key.Mark());
    if (!key.IsScalar()) {
      return Error(line, map.path,
                   fmt::format("field names must be plain strings, got {}", Describe(key)));
    }
    std::string name = key.Scalar();
    std::string path = JoinPath(map.path, name);
    if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
      std::string suggestion = SuggestName(name, known);
      if (!suggestion.empty()) {
        return Error(line, path, fmt::format("unknown field; did you mean {}?", suggestion));
      }
      return Error(line, path,
                   fmt::format("unknown field; expected one of: {}", fmt::join(known, ", ")));
    }
    auto [pos, inserted] = first_line.emplace(name, line);
    if (!inserted) {
      return Error(line, path,
                   fmt::format("duplicate field (first given at line {})", pos->second));
    }
    out.push_back(Field{value, name, std::move(path), line});
  }
  return out;
}

Result<std::vector<Field>> SpecReader::Items(const Field& list) const {
  if (!list.node.IsSequence()) {
    return Error(list, fmt::format("expected a list, got {}", Describe(list.node)));
  }
  std::vector<Field> out;
  size_t index = 0;
  for (auto it = list.node.begin(); it != list.node.end(); ++it, ++index) {
    const YAML::Node node = *it;  // a copy, as in Entries
    int line = LineOf(node.Mark());
    out.push_back(
        Field{node, "", fmt::format("{}[{}]", list.path, index), line > 0 ? line : list.line});
  }
  return out;
}

Result<std::string> SpecReader::String(const Field& f) const {
  if (!f.node.IsScalar()) {
    return Error(f, fmt::format("expected a string, got {}", Describe(f.node)));
  }
  return f.node.Scalar();
}

Result<int64_t> SpecReader::Int(const Field& f, int64_t min, int64_t max) const {
  if (!f.node.IsScalar() || IsQuotedString(f.node)) {
    return Error(f, fmt::format("expected an integer, got {}", Describe(f.node)));
  }
  const std::string& text = f.node.Scalar();
  int64_t value = 0;
  if (!ParseDecimal(text, &value)) {
    // Only digits but too many of them is a range error, not a type error.
    size_t digits_from = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
    bool all_digits = text.size() > digits_from &&
                      std::all_of(text.begin() + digits_from, text.end(), [](char c) {
                        return std::isdigit(static_cast<unsigned char>(c)) != 0;
                      });
    if (all_digits)
      return Error(f, fmt::format("must be between {} and {}, got {}", min, max, text));
    return Error(f, fmt::format("expected an integer, got {}", Describe(f.node)));
  }
  if (value < min || value > max) {
    return Error(f, fmt::format("must be between {} and {}, got {}", min, max, value));
  }
  return value;
}

Result<bool> SpecReader::Bool(const Field& f) const {
  if (f.node.IsScalar() && !IsQuotedString(f.node)) {
    const std::string& t = f.node.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  return Error(f, fmt::format("expected true or false, got {}", Describe(f.node)));
}

Result<Quantity> SpecReader::QuantityValue(const Field& f) const {
  if (!f.node.IsScalar() || IsQuotedString(f.node)) {
    return Error(f, fmt::format("expected a number, got {}", Describe(f.node)));
  }
  const std::string& text = f.node.Scalar();
  Result<Quantity> q = Quantity::Parse(text);
  if (!q.ok()) {
    // A number with too fine a fraction gets its own hint; anything else is not a number.
    size_t dot = text.find('.');
    bool too_fine = dot != std::string::npos && text.size() - dot - 1 > 3 &&
                    std::all_of(text.begin() + dot + 1, text.end(), [](char c) {
                      return std::isdigit(static_cast<unsigned char>(c)) != 0;
                    });
    return Error(f, fmt::format("expected a number{}, got {}",
                                too_fine ? " with at most 3 decimals" : "", Describe(f.node)));
  }
  return q;
}

Result<Duration> SpecReader::DurationValue(const Field& f) const {
  if (!f.node.IsScalar()) {
    return Error(f,
                 fmt::format("expected a duration (3600, 90s, 1h30m), got {}", Describe(f.node)));
  }
  Result<Duration> d = ParseDurationText(f.node.Scalar());
  if (!d.ok()) return Error(f, d.status().message());
  return d;
}

Result<int64_t> SpecReader::ByteSizeValue(const Field& f) const {
  if (!f.node.IsScalar()) {
    return Error(f, fmt::format("expected a byte size (512Mi, 16Gi), got {}", Describe(f.node)));
  }
  Result<int64_t> bytes = ParseByteSize(f.node.Scalar());
  if (!bytes.ok()) return Error(f, bytes.status().message());
  return bytes;
}

Result<std::vector<std::string>> SpecReader::StringList(const Field& f,
                                                        ScalarForm scalar_form) const {
  std::vector<std::string> out;
  if (f.node.IsScalar() && scalar_form != ScalarForm::kReject) {
    const std::string& text = f.node.Scalar();
    if (scalar_form == ScalarForm::kOneItem) {
      if (text.empty()) return Error(f, "must not be empty");
      out.push_back(text);
      return out;
    }
    std::istringstream words(text);
    for (std::string w; words >> w;) out.push_back(w);
    return out;
  }
  if (!f.node.IsSequence()) {
    return Error(f, fmt::format("expected a list of strings, got {}", Describe(f.node)));
  }
  BATON_ASSIGN_OR_RETURN(std::vector<Field> items, Items(f));
  for (const Field& item : items) {
    if (!item.node.IsScalar()) {
      return Error(item, fmt::format("expected a string, got {}", Describe(item.node)));
    }
    if (item.node.Scalar().empty()) return Error(item, "must not be empty");
    out.push_back(item.node.Scalar());
  }
  return out;
}

Status GuardYaml(std::string_view source, const std::function<Status()>& body) {
  try {
    return body();
  } catch (const YAML::Exception& e) {
    SpecReader reader(source);
    return reader.Error(LineOf(e.mark), "", fmt::format("invalid YAML: {}", e.msg));
  } catch (const std::exception& e) {
    return Internal(
        fmt::format("{}: unexpected error while reading the spec: {}", source, e.what()));
  }
}

}  // namespace baton::spec
