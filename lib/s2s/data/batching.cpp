#include "s2s/data/batching.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "s2s/core/choice.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/data/vocab.hpp"

namespace s2s {
namespace {

template <typename T>
void fisher_yates(std::vector<T>& items, Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

std::size_t source_length(const SequencePair& pair, bool source_eos) {
  return pair.source.size() + (source_eos ? 1 : 0);
}

// Padded cells a batch costs: B · max(T_src, T_tgt).
std::size_t batch_cost(std::size_t count, std::size_t max_source, std::size_t max_target) {
  return count * std::max(max_source, max_target);
}

void chunk_pool(const std::vector<SequencePair>& data, const std::vector<std::size_t>& pool,
                const BatchingConfig& config, std::vector<std::vector<std::size_t>>& batches) {
  std::vector<std::size_t> current;
  std::size_t max_source = 0, max_target = 0;
  for (std::size_t index : pool) {
    const std::size_t source = source_length(data[index], config.source_eos);
    const std::size_t target = data[index].target.size() + 1;
    bool fits;
    if (config.unit == BatchUnit::kSentences) {
      fits = current.size() < config.batch_size;
    } else {
      fits = current.empty() || batch_cost(current.size() + 1, std::max(max_source, source),
                                           std::max(max_target, target)) <= config.batch_size;
    }
    if (!fits) {
      batches.push_back(std::move(current));
      current.clear();
      max_source = max_target = 0;
    }
    current.push_back(index);
    max_source = std::max(max_source, source);
    max_target = std::max(max_target, target);
  }
  if (!current.empty()) batches.push_back(std::move(current));
}

}  // namespace

std::size_t Batch::source_tokens() const {
  return std::accumulate(source_lengths.begin(), source_lengths.end(), std::size_t(0));
}

std::size_t Batch::target_tokens() const {
  return std::accumulate(target_lengths.begin(), target_lengths.end(), std::size_t(0));
}

Batch make_batch(const std::vector<SequencePair>& data, const std::vector<std::size_t>& indices,
                 bool source_eos) {
  Batch batch;
  const uword B = indices.size();
  batch.size = B;
  batch.indices = indices;
  batch.source_lengths.resize(B);
  batch.target_lengths.resize(B);
  for (uword b = 0; b < B; ++b) {
    const SequencePair& pair = data.at(indices[b]);
    batch.source_lengths[b] = source_length(pair, source_eos);
    batch.target_lengths[b] = pair.target.size() + 1;
    batch.source_steps = std::max(batch.source_steps, batch.source_lengths[b]);
    batch.target_steps = std::max(batch.target_steps, batch.target_lengths[b]);
  }
  batch.source_ids.assign(batch.source_steps * B, Vocab::kPad);
  batch.target_input_ids.assign(batch.target_steps * B, Vocab::kPad);
  batch.target_output_ids.assign(batch.target_steps * B, Vocab::kPad);
  for (uword b = 0; b < B; ++b) {
    const SequencePair& pair = data[indices[b]];
    for (uword t = 0; t < pair.source.size(); ++t) batch.source_ids[t * B + b] = pair.source[t];
    if (source_eos) batch.source_ids[pair.source.size() * B + b] = Vocab::kEos;
    const uword n = pair.target.size();
    batch.target_input_ids[b] = Vocab::kBos;
    for (uword t = 0; t < n; ++t) {
      batch.target_input_ids[(t + 1) * B + b] = pair.target[t];
      batch.target_output_ids[t * B + b] = pair.target[t];
    }
    batch.target_output_ids[n * B + b] = Vocab::kEos;
  }
  return batch;
}

std::vector<Batch> source_batches(const std::vector<std::vector<Index>>& sources,
                                  std::size_t batch_size) {
  if (batch_size == 0) throw std::invalid_argument("batch size 0");
  std::vector<std::size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return sources[a].size() < sources[b].size();
  });
  std::vector<SequencePair> pairs(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].empty()) throw std::invalid_argument("an empty source (source " +
                                                        std::to_string(i + 1) + ")");
    pairs[i].source = sources[i];
  }
  std::vector<Batch> batches;
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    const std::vector<std::size_t> indices(
        order.begin() + start, order.begin() + std::min(order.size(), start + batch_size));
    batches.push_back(make_batch(pairs, indices));
  }
  return batches;
}

BatchUnit parse_batch_unit(std::string_view name) {
  return parse_choice<BatchUnit>("batch unit", name,
      {{"sentences", BatchUnit::kSentences}, {"tokens", BatchUnit::kTokens}});
}

std::vector<std::vector<std::size_t>> plan_epoch(const std::vector<SequencePair>& data,
                                                 const BatchingConfig& config, std::uint64_t seed,
                                                 std::uint64_t epoch) {
  if (config.batch_size == 0) throw std::invalid_argument("batch size must be positive");
  Rng rng(splitmix64(seed ^ splitmix64(epoch)));
  std::vector<std::size_t> order(data.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  if (config.shuffle) fisher_yates(order, rng);

  const std::size_t pool_size = config.pool_size == 0 ? order.size() : config.pool_size;
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> pool;
  for (std::size_t start = 0; start < order.size(); start += pool_size) {
    const std::size_t end = std::min(order.size(), start + pool_size);
    pool.assign(order.begin() + start, order.begin() + end);
    if (config.sort_by_length)
      std::stable_sort(pool.begin(), pool.end(), [&](std::size_t a, std::size_t b) {
        if (data[a].source.size() != data[b].source.size())
          return data[a].source.size() < data[b].source.size();
        return data[a].target.size() < data[b].target.size();
      });
    chunk_pool(data, pool, config, batches);
  }
  if (config.shuffle) fisher_yates(batches, rng);
  return batches;
}

BatchStream::BatchStream(const std::vector<SequencePair>& data, const BatchingConfig& config,
                         std::uint64_t seed)
    : data_(data), config_(config), seed_(seed) {
  seek(0, 0);
}

void BatchStream::seek(std::uint64_t epoch, std::size_t position) {
  if (epoch != epoch_ || plan_.empty()) plan_ = plan_epoch(data_, config_, seed_, epoch);
  if (position > plan_.size())
    throw std::invalid_argument("batch position " + std::to_string(position) + " beyond the " +
                                std::to_string(plan_.size()) + " batches of epoch " +
                                std::to_string(epoch));
  epoch_ = epoch;
  position_ = position;
}

void BatchStream::seek(const BatchCursor& cursor) {
  if (cursor.seed != seed_)
    throw std::invalid_argument("batch cursor seed " + std::to_string(cursor.seed) +
                                " differs from the stream's seed " + std::to_string(seed_));
  seek(cursor.epoch, cursor.position);
}

bool BatchStream::next(Batch& batch) {
  if (position_ >= plan_.size()) return false;
  batch = make_batch(data_, plan_[position_], config_.source_eos);
  ++position_;
  return true;
}

}  // namespace s2s
