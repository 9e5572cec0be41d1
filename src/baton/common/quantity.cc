#include "baton/common/quantity.h"

#include <cctype>

#include <fmt/format.h>

namespace baton {

Result<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty quantity");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  int64_t whole = 0;
  size_t whole_digits = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (whole > (INT64_MAX / kScale) / 10) return InvalidArgument("quantity too large");
    whole = whole * 10 + (text[i] - '0');
    ++whole_digits;
  }
  int64_t frac = 0;
  size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (++frac_digits > 3) {
        return InvalidArgument(fmt::format("'{}' has more than 3 decimal places", text));
      }
      frac = frac * 10 + (text[i] - '0');
    }
    for (size_t k = frac_digits; k < 3; ++k) frac *= 10;
  }
  if (i != text.size() || (whole_digits == 0 && frac_digits == 0)) {
    return InvalidArgument(fmt::format("'{}' is not a number", text));
  }
  int64_t milli = whole * kScale + frac;
  return Quantity(negative ? -milli : milli);
}

std::string Quantity::ToString() const {
  const int64_t m = milli_ < 0 ? -milli_ : milli_;
  int64_t frac = m % kScale;
  int digits = 3;
  while (frac != 0 && frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  const char* sign = milli_ < 0 ? "-" : "";
  if (frac == 0) return fmt::format("{}{}", sign, m / kScale);
  return fmt::format("{}{}.{:0{}}", sign, m / kScale, frac, digits);
}

Result<int64_t> ParseByteSize(std::string_view text) {
  struct Suffix {
    std::string_view name;
    int64_t factor;
  };
  static constexpr Suffix kSuffixes[] = {
      {"Ki", int64_t{1} << 10}, {"Mi", int64_t{1} << 20}, {"Gi", int64_t{1} << 30},
      {"Ti", int64_t{1} << 40}, {"Pi", int64_t{1} << 50}, {"k", 1000},
      {"K", 1000},              {"M", 1000000},           {"G", 1000000000},
      {"T", 1000000000000},     {"P", 1000000000000000}};
  const std::string bad = fmt::format(
      "'{}' is not a byte size; use bytes or a suffix Ki, Mi, Gi, Ti (or k, M, G, T): 512Mi, 16Gi",
      text);
  std::string_view number = text;
  int64_t factor = 1;
  for (const Suffix& s : kSuffixes) {
    if (text.size() > s.name.size() && text.ends_with(s.name)) {
      number = text.substr(0, text.size() - s.name.size());
      factor = s.factor;
      break;
    }
  }
  if (number.empty() || number[0] == '-' || number[0] == '+') return InvalidArgument(bad);
  Result<Quantity> q = Quantity::Parse(number);
  if (!q.ok()) return InvalidArgument(bad);
  // milli-units x factor must be a whole number of bytes and fit in int64.
  const __int128 milli_bytes = static_cast<__int128>(q->milli()) * factor;
  if (milli_bytes % Quantity::kScale != 0) {
    return InvalidArgument(fmt::format("'{}' is not a whole number of bytes", text));
  }
  const __int128 bytes = milli_bytes / Quantity::kScale;
  if (bytes > INT64_MAX) return InvalidArgument(fmt::format("'{}' is too large", text));
  return static_cast<int64_t>(bytes);
}

std::string FormatByteSize(int64_t bytes) {
  static constexpr std::string_view kUnits[] = {"Ki", "Mi", "Gi", "Ti", "Pi"};
  if (bytes == 0 || bytes % 1024 != 0) return std::to_string(bytes);
  int unit = -1;
  while (unit + 1 < 5 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{}{}", bytes, kUnits[unit]);
}

}  // namespace baton
