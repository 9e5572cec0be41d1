#include "baton/common/quantity.h"

#include <cctype>

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
        return InvalidArgument("'" + std::string(text) + "' has more than 3 decimal places");
      }
      frac = frac * 10 + (text[i] - '0');
    }
    for (size_t k = frac_digits; k < 3; ++k) frac *= 10;
  }
  if (i != text.size() || (whole_digits == 0 && frac_digits == 0)) {
    return InvalidArgument("'" + std::string(text) + "' is not a number");
  }
  int64_t milli = whole * kScale + frac;
  return Quantity(negative ? -milli : milli);
}

std::string Quantity::ToString() const {
  int64_t m = milli_ < 0 ? -milli_ : milli_;
  std::string out = milli_ < 0 ? "-" : "";
  out += std::to_string(m / kScale);
  int64_t frac = m % kScale;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace baton
