#include "baton/model/mig.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace baton::model {
namespace {

// Reads a positive decimal number (no leading zero) at `s[*i]`; -1 if there is none.
int ReadNumber(std::string_view s, size_t* i) {
  const size_t start = *i;
  int64_t v = 0;
  while (*i < s.size() && s[*i] >= '0' && s[*i] <= '9' && *i - start < 6) {
    v = v * 10 + (s[*i] - '0');
    ++*i;
  }
  if (*i == start || s[start] == '0' || (*i < s.size() && s[*i] >= '0' && s[*i] <= '9')) {
    return -1;
  }
  return static_cast<int>(v);
}

bool Eat(std::string_view s, size_t* i, std::string_view word) {
  if (s.size() - *i < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(s[*i + k])) != word[k]) return false;
  }
  *i += word.size();
  return true;
}

// Parses a profile; returns its compute slices, or 0 when it is not one.
int Parse(std::string_view s) {
  if (s.empty() || s.size() > 64) return 0;
  size_t i = 0;
  int first = ReadNumber(s, &i);
  if (first < 0) return 0;
  int compute = 0;
  if (Eat(s, &i, "c.")) {  // "<c>c.<g>g.<m>gb"
    compute = first;
    first = ReadNumber(s, &i);
    if (first < 0) return 0;
  }
  if (!Eat(s, &i, "g.")) return 0;
  if (ReadNumber(s, &i) < 0 || !Eat(s, &i, "gb")) return 0;
  while (i < s.size()) {  // "+me", "+gfx", ...
    if (s[i] != '+' || ++i == s.size()) return 0;
    const size_t start = i;
    while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return 0;
  }
  if (first > kMigSlicesPerGpu || compute > first) return 0;
  return compute > 0 ? compute : first;
}

}  // namespace

bool IsMigProfile(std::string_view profile) { return Parse(profile) > 0; }

int MigComputeSlices(std::string_view profile) { return Parse(profile); }

int32_t MigProfileMilli(std::string_view profile) {
  const int slices = Parse(profile);
  if (slices <= 0) return 1000;
  return static_cast<int32_t>(
      std::min(1000, (slices * 1000 + kMigSlicesPerGpu / 2) / kMigSlicesPerGpu));
}

std::string MigTypeName(std::string_view model, std::string_view profile) {
  return fmt::format("{}/{}", model, profile);
}

bool SameMigProfile(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace baton::model
