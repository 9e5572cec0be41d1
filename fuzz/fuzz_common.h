// Helpers shared by the fuzz targets (fuzz/*_fuzzer.cc); see docs/fuzzing.md.
//
// Every target defines LLVMFuzzerTestOneInput. Built with the `fuzz` preset it links
// libFuzzer; otherwise it links replay_main.cc, which feeds it the committed corpus.
//
//  - FUZZ_CHECK(cond): a property the target asserts beyond "no crash"; a violation aborts
//    with the condition and its location, which libFuzzer reports as a crash (and the
//    replay driver as a failed test).
//  - QuietLogs(): spdlog off; logging every rejected input would dominate the run time.
//  - ByteReader: takes typed values from the front of the input for the targets whose input
//    is a sequence of operations (a byte of op code, a length-prefixed payload, ...). It
//    never fails: past the end it yields zeros and empty strings, so every input means
//    something.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace baton::fuzz {

inline void QuietLogs() { spdlog::set_level(spdlog::level::off); }

// The input as text (the parsers take string_view).
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  bool empty() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  uint8_t U8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t U16() {
    uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  uint32_t U32() {
    uint32_t lo = U16();
    return lo | (static_cast<uint32_t>(U16()) << 16);
  }
  // A little-endian u16 length, then that many bytes (fewer at the end of the input).
  std::string_view Bytes16() { return Take(U16()); }
  std::string_view Take(size_t n) {
    if (n > remaining()) n = remaining();
    std::string_view out(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return out;
  }
  std::string_view Rest() { return Take(remaining()); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace baton::fuzz
