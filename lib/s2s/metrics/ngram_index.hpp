#pragma once
// N-gram counting by sorting, shared by BLEU (word n-grams) and chrF (character n-grams).
//
// For a sequence s[0..L) and a maximum order N, the start positions 0..L-1 are sorted by the
// suffix of s truncated to N symbols (lexicographic, a proper prefix sorts first). In that order
// the occurrences of every n-gram (n <= N) are adjacent: the strings with a given prefix form an
// interval, and a position with fewer than n symbols left cannot fall inside it. So one sort
// gives, for every order n, the distinct n-grams as runs (first position, count) in sorted
// order, and two sequences are matched by merging their run lists: O(L log L · N) per sequence,
// no hashing, and the buffers are reused across segments (no allocation once they have grown).
//
// Symbol: anything with == and < (char32_t code points, std::string_view tokens).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace s2s {

template <typename Symbol>
class NgramIndex {
 public:
  struct Run {
    std::uint32_t position;  // of one occurrence
    std::uint32_t count;
  };

  // `seq` must outlive the index (only a pointer is kept).
  void build(const Symbol* seq, std::size_t length, int max_order) {
    seq_ = seq;
    length_ = length;
    max_order_ = max_order;
    starts_.resize(length);
    for (std::size_t i = 0; i < length; ++i) starts_[i] = static_cast<std::uint32_t>(i);
    std::sort(starts_.begin(), starts_.end(), [this](std::uint32_t a, std::uint32_t b) {
      return std::lexicographical_compare(seq_ + a, seq_ + a + truncated(a), seq_ + b,
                                          seq_ + b + truncated(b));
    });
    runs_.resize(static_cast<std::size_t>(max_order));
    for (int n = 1; n <= max_order; ++n) {
      std::vector<Run>& runs = runs_[static_cast<std::size_t>(n - 1)];
      runs.clear();
      for (std::uint32_t pos : starts_) {
        if (length_ - pos < static_cast<std::size_t>(n)) continue;
        if (!runs.empty() && std::equal(seq_ + pos, seq_ + pos + n, seq_ + runs.back().position)) {
          ++runs.back().count;
        } else {
          runs.push_back({pos, 1});
        }
      }
    }
  }

  std::size_t length() const { return length_; }
  // Number of n-grams of order n (with repetitions).
  std::size_t total(int n) const {
    return length_ >= static_cast<std::size_t>(n) ? length_ - static_cast<std::size_t>(n) + 1 : 0;
  }
  // Distinct n-grams of order n in sorted order (1 <= n <= max_order).
  const std::vector<Run>& runs(int n) const { return runs_[static_cast<std::size_t>(n - 1)]; }
  const Symbol* ngram(std::uint32_t position) const { return seq_ + position; }

 private:
  std::size_t truncated(std::uint32_t pos) const {
    return std::min(length_ - pos, static_cast<std::size_t>(max_order_));
  }

  const Symbol* seq_ = nullptr;
  std::size_t length_ = 0;
  int max_order_ = 0;
  std::vector<std::uint32_t> starts_;
  std::vector<std::vector<Run>> runs_;  // [n - 1]
};

// Calls match(run_index_in_a, count_in_a, count_in_b) for every n-gram of order n that occurs
// in both a and b, in sorted order.
template <typename Symbol, typename Match>
void for_each_common_ngram(const NgramIndex<Symbol>& a, const NgramIndex<Symbol>& b, int n,
                           Match&& match) {
  const auto& runs_a = a.runs(n);
  const auto& runs_b = b.runs(n);
  std::size_t i = 0, j = 0;
  while (i < runs_a.size() && j < runs_b.size()) {
    const Symbol* x = a.ngram(runs_a[i].position);
    const Symbol* y = b.ngram(runs_b[j].position);
    int order = 0;  // three-way comparison of the two n-grams
    for (int k = 0; k < n && order == 0; ++k) {
      if (x[k] < y[k]) {
        order = -1;
      } else if (y[k] < x[k]) {
        order = 1;
      }
    }
    if (order < 0) {
      ++i;
    } else if (order > 0) {
      ++j;
    } else {
      match(i, runs_a[i].count, runs_b[j].count);
      ++i;
      ++j;
    }
  }
}

}  // namespace s2s
