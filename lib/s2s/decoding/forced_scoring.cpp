#include "s2s/decoding/forced_scoring.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "s2s/data/batching.hpp"

namespace s2s {

template <typename Real>
std::vector<std::vector<double>> force_decode(Seq2SeqModel<Real>& model,
                                              const std::vector<Index>& src,
                                              const std::vector<uword>& src_lengths,
                                              uword src_steps,
                                              const std::vector<std::vector<Index>>& targets) {
  const uword batch = src_lengths.size();
  if (targets.size() != batch)
    throw std::invalid_argument("force_decode: " + std::to_string(targets.size()) +
                                " targets for " + std::to_string(batch) + " sources");
  uword steps = 0;  // the longest target + </s>
  for (const auto& target : targets) {
    if (model.max_length() > 0 && target.size() > model.max_length())
      throw std::invalid_argument("a target of " + std::to_string(target.size()) +
                                  " tokens is longer than the model takes (" +
                                  std::to_string(model.max_length()) + ")");
    steps = std::max<uword>(steps, target.size() + 1);
  }
  std::unique_ptr<DecodeState> state = model.encode(src, src_lengths, src_steps);
  std::vector<std::vector<double>> scores(batch);
  std::vector<Index> prev(batch, Vocab::kBos);
  Mat<Real> log_probs;
  for (uword t = 0; t < steps; ++t) {
    model.decode_step(*state, prev, log_probs);
    for (uword b = 0; b < batch; ++b) {
      const std::vector<Index>& target = targets[b];
      if (t > target.size()) continue;  // done; its row decodes <pad> until the longest ends
      const Index token = t < target.size() ? target[t] : Index(Vocab::kEos);
      if (token < 0 || uword(token) >= log_probs.n_rows)
        throw std::invalid_argument("force_decode: token id " + std::to_string(token) +
                                    " outside the target vocabulary");
      scores[b].push_back(double(log_probs(uword(token), b)));
      prev[b] = t < target.size() ? token : Index(Vocab::kPad);
    }
  }
  return scores;
}

template <typename Real>
std::vector<std::vector<double>> force_decode_all(Seq2SeqModel<Real>& model,
                                                  const std::vector<std::vector<Index>>& sources,
                                                  const std::vector<std::vector<Index>>& targets,
                                                  uword batch_size, WorkerPool* pool) {
  if (sources.size() != targets.size())
    throw std::invalid_argument("forced scoring: " + std::to_string(sources.size()) +
                                " sources but " + std::to_string(targets.size()) + " targets");
  const std::vector<Batch> batches = source_batches(sources, batch_size);
  std::vector<std::vector<double>> result(sources.size());
  WorkerPool::run_tasks(pool, batches.size(), [&](std::size_t k) {
    const Batch& batch = batches[k];
    std::vector<std::vector<Index>> batch_targets;
    for (std::size_t i : batch.indices) batch_targets.push_back(targets[i]);
    auto scores = force_decode(model, batch.source_ids, batch.source_lengths,
                               batch.source_steps, batch_targets);
    for (std::size_t b = 0; b < batch.indices.size(); ++b)
      result[batch.indices[b]] = std::move(scores[b]);
  });
  return result;
}

#define S2S_INSTANTIATE_FORCED_SCORING(Real)                                                   \
  template std::vector<std::vector<double>> force_decode<Real>(                                \
      Seq2SeqModel<Real>&, const std::vector<Index>&, const std::vector<uword>&, uword,       \
      const std::vector<std::vector<Index>>&);                                                 \
  template std::vector<std::vector<double>> force_decode_all<Real>(                            \
      Seq2SeqModel<Real>&, const std::vector<std::vector<Index>>&,                             \
      const std::vector<std::vector<Index>>&, uword, WorkerPool*);
S2S_INSTANTIATE_FORCED_SCORING(float)
S2S_INSTANTIATE_FORCED_SCORING(double)

}  // namespace s2s
