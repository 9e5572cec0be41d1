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

}  // namespace baton
