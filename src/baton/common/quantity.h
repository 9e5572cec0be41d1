// Quantity: an exact fixed-point amount of a resource (GPUs, CPUs).
//
// Stored as an integer count of milli-units, so 0.5 GPU + 0.25 GPU + 0.25 GPU is
// exactly 1 GPU and sums never drift (floating point would). Parsing accepts at most
// three decimal places and refuses anything finer rather than rounding silently.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton {

class Quantity {
 public:
  static constexpr int64_t kScale = 1000;

  constexpr Quantity() = default;
  static constexpr Quantity Whole(int64_t units) { return Quantity(units * kScale); }
  static constexpr Quantity FromMilli(int64_t milli) { return Quantity(milli); }
  // "2", "0.5", "1.25"; errors name nothing (the caller adds the field path).
  static Result<Quantity> Parse(std::string_view text);

  constexpr int64_t milli() const { return milli_; }
  constexpr bool is_whole() const { return milli_ % kScale == 0; }
  // Whole units, rounded down.
  constexpr int64_t whole() const { return milli_ / kScale; }
  double ToDouble() const { return static_cast<double>(milli_) / kScale; }
  std::string ToString() const;

  constexpr Quantity operator+(Quantity o) const { return Quantity(milli_ + o.milli_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(milli_ - o.milli_); }
  constexpr Quantity operator*(int64_t k) const { return Quantity(milli_ * k); }
  Quantity& operator+=(Quantity o) { milli_ += o.milli_; return *this; }
  Quantity& operator-=(Quantity o) { milli_ -= o.milli_; return *this; }
  friend constexpr auto operator<=>(Quantity, Quantity) = default;

 private:
  constexpr explicit Quantity(int64_t milli) : milli_(milli) {}
  int64_t milli_ = 0;
};

// Parses a byte size the way Kubernetes writes memory: a whole number of bytes ("1048576")
// or a number with a binary (Ki, Mi, Gi, Ti, Pi) or decimal (k, K, M, G, T, P) suffix:
// "512Mi", "16Gi", "1.5Gi", "2G". Fractions must come out to whole bytes. Errors name
// nothing (the caller adds the field).
Result<int64_t> ParseByteSize(std::string_view text);
// The shortest exact form of a byte count with a binary suffix: 17179869184 -> "16Gi".
std::string FormatByteSize(int64_t bytes);

}  // namespace baton
