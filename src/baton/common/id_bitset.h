// IdBitset: a set of small dense ids (node ids) that finds the lowest member fast.
//
// Two levels of 64-bit words: a summary bit per leaf word, so FindFirst/FindNext cost
// O(size / 4096) words in the worst case and usually one or two. The scheduler keeps
// one per (GPU type, free-GPU count) so "the lowest-numbered node with exactly k free
// GPUs" is a couple of instructions, and ties always break on the lower id.
//
// Thread-safety: none; a plain value type.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace baton {

class IdBitset {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  IdBitset() = default;
  explicit IdBitset(uint32_t capacity) { Resize(capacity); }

  void Resize(uint32_t capacity) {
    capacity_ = capacity;
    leaves_.assign((capacity + 63) / 64, 0);
    summary_.assign((leaves_.size() + 63) / 64, 0);
  }
  uint32_t capacity() const { return capacity_; }

  bool Contains(uint32_t id) const { return (leaves_[id >> 6] >> (id & 63)) & 1; }
  void Insert(uint32_t id) {
    leaves_[id >> 6] |= uint64_t{1} << (id & 63);
    summary_[id >> 12] |= uint64_t{1} << ((id >> 6) & 63);
  }
  void Erase(uint32_t id) {
    uint64_t& leaf = leaves_[id >> 6];
    leaf &= ~(uint64_t{1} << (id & 63));
    if (leaf == 0) summary_[id >> 12] &= ~(uint64_t{1} << ((id >> 6) & 63));
  }

  // Lowest member >= from, or kNone.
  uint32_t FindNext(uint32_t from) const {
    if (from >= capacity_) return kNone;
    uint32_t leaf = from >> 6;
    uint64_t bits = leaves_[leaf] & (~uint64_t{0} << (from & 63));
    if (bits != 0) return (leaf << 6) | static_cast<uint32_t>(std::countr_zero(bits));
    // Next non-empty leaf via the summary.
    uint32_t next_leaf = leaf + 1;
    uint32_t s = next_leaf >> 6;
    if (s >= summary_.size()) return kNone;
    uint64_t sbits = (next_leaf & 63) == 0 ? summary_[s]
                                           : summary_[s] & (~uint64_t{0} << (next_leaf & 63));
    while (sbits == 0) {
      if (++s >= summary_.size()) return kNone;
      sbits = summary_[s];
    }
    uint32_t l = (s << 6) | static_cast<uint32_t>(std::countr_zero(sbits));
    return (l << 6) | static_cast<uint32_t>(std::countr_zero(leaves_[l]));
  }
  uint32_t FindFirst() const { return FindNext(0); }

 private:
  uint32_t capacity_ = 0;
  std::vector<uint64_t> leaves_;
  std::vector<uint64_t> summary_;
};

}  // namespace baton
