#pragma once
// Batching: token-id pairs -> padded, time-major batches, bucketed by length.
//
// One epoch's plan (plan_epoch), a pure function of (data lengths, config, seed, epoch):
//   1. permute all pair indices with an Rng seeded from (seed, epoch)   [shuffle only]
//   2. cut the permutation into pools of config.pool_size pairs
//   3. stable-sort each pool by (source length, target length)          [sort_by_length only]
//   4. cut each pool into batches: config.batch_size sentences, or as many pairs as fit in
//      config.batch_size tokens, where a batch costs B · max(T_src, T_tgt) padded cells (a pair
//      longer than the budget on its own forms a batch of one)
//   5. permute the batches of the whole epoch with the same Rng          [shuffle only]
// Without shuffle the pools follow the data order and the batches stay in pool order.
//
// Batch layout (tensor.hpp): ids are time-major, entry t·B + b is step t of sequence b, padded
// with <pad>. With target y1..yn:
//   target_input_ids   <s> y1 .. yn      (T_tgt = max n + 1 steps)
//   target_output_ids  y1 .. yn </s>
//   target_lengths     n + 1
// The source carries no specials unless config.source_eos appends </s>.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "s2s/core/tensor.hpp"
#include "s2s/data/parallel_data.hpp"

namespace s2s {

struct Batch {
  uword size = 0;                         // B
  uword source_steps = 0;                 // T_src = max source length
  uword target_steps = 0;                 // T_tgt = max target length + 1
  std::vector<Index> source_ids;          // (T_src·B)
  std::vector<Index> target_input_ids;    // (T_tgt·B)
  std::vector<Index> target_output_ids;   // (T_tgt·B)
  std::vector<uword> source_lengths;      // (B)
  std::vector<uword> target_lengths;      // (B), each n + 1
  std::vector<std::size_t> indices;       // (B) position of each pair in the data set

  std::size_t source_tokens() const;      // Σ source_lengths (real, unpadded)
  std::size_t target_tokens() const;      // Σ target_lengths
};

// The batch of data[indices[0]], data[indices[1]], ... in that order.
Batch make_batch(const std::vector<SequencePair>& data, const std::vector<std::size_t>& indices,
                 bool source_eos = false);

// Decoding's batches: the sources (no targets) in order of length, stable, cut into batches of up
// to batch_size, so that they carry little padding; Batch::indices are positions in `sources`.
// Throws std::invalid_argument on an empty source or batch_size 0.
std::vector<Batch> source_batches(const std::vector<std::vector<Index>>& sources,
                                  std::size_t batch_size);

enum class BatchUnit { kSentences, kTokens };
// "sentences" | "tokens"; otherwise "Unknown batch unit: X. Valid options: sentences, tokens".
BatchUnit parse_batch_unit(std::string_view name);

struct BatchingConfig {
  std::size_t batch_size = 64;  // in `unit`s
  BatchUnit unit = BatchUnit::kSentences;
  std::size_t pool_size = 4096;  // pairs sorted together; 0 = the whole data set
  bool shuffle = true;
  bool sort_by_length = true;
  bool source_eos = false;
};

// The batches of one epoch, as lists of pair indices. Every pair appears exactly once.
std::vector<std::vector<std::size_t>> plan_epoch(const std::vector<SequencePair>& data,
                                                 const BatchingConfig& config, std::uint64_t seed,
                                                 std::uint64_t epoch);

// Where a BatchStream stands: the next batch is batch `position` of epoch `epoch`'s plan.
// Saving it and seeking back to it resumes the exact batch sequence.
struct BatchCursor {
  std::uint64_t seed = 0;
  std::uint64_t epoch = 0;
  std::size_t position = 0;
};

// Batches of a data set epoch after epoch. The data must outlive the stream.
//   stream.seek(epoch);  while (stream.next(batch)) train(batch);
class BatchStream {
 public:
  BatchStream(const std::vector<SequencePair>& data, const BatchingConfig& config,
              std::uint64_t seed);

  void seek(std::uint64_t epoch, std::size_t position = 0);  // throws if position > batch count
  void seek(const BatchCursor& cursor);                      // throws if the seed differs
  bool next(Batch& batch);  // false at the end of the epoch

  BatchCursor cursor() const { return {seed_, epoch_, position_}; }
  std::uint64_t epoch() const { return epoch_; }
  std::size_t position() const { return position_; }
  std::size_t batches_in_epoch() const { return plan_.size(); }

 private:
  const std::vector<SequencePair>& data_;
  BatchingConfig config_;
  std::uint64_t seed_;
  std::uint64_t epoch_ = 0;
  std::size_t position_ = 0;
  std::vector<std::vector<std::size_t>> plan_;
};

}  // namespace s2s
