#include "s2s/data_parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace s2s {

Batch slice_batch(const Batch& batch, std::size_t first, std::size_t last) {
  if (first > last || last > batch.size)
    throw std::out_of_range("slice_batch: sentences [" + std::to_string(first) + ", " +
                            std::to_string(last) + ") of a batch of " +
                            std::to_string(batch.size));
  const uword B = batch.size;
  Batch shard;
  shard.size = last - first;
  const uword S = shard.size;
  shard.source_lengths.assign(batch.source_lengths.begin() + first,
                              batch.source_lengths.begin() + last);
  shard.target_lengths.assign(batch.target_lengths.begin() + first,
                              batch.target_lengths.begin() + last);
  shard.indices.assign(batch.indices.begin() + first, batch.indices.begin() + last);
  for (uword b = 0; b < S; ++b) {
    shard.source_steps = std::max(shard.source_steps, shard.source_lengths[b]);
    shard.target_steps = std::max(shard.target_steps, shard.target_lengths[b]);
  }
  auto copy_steps = [&](const std::vector<Index>& from, uword steps, std::vector<Index>& to) {
    to.resize(steps * S);
    for (uword t = 0; t < steps; ++t)
      for (uword b = 0; b < S; ++b) to[t * S + b] = from[t * B + first + b];
  };
  copy_steps(batch.source_ids, shard.source_steps, shard.source_ids);
  copy_steps(batch.target_input_ids, shard.target_steps, shard.target_input_ids);
  copy_steps(batch.target_output_ids, shard.target_steps, shard.target_output_ids);
  return shard;
}

Batch shard_of(const Batch& global, int rank, int ranks) {
  const std::size_t B = global.size, R = static_cast<std::size_t>(ranks);
  const std::size_t r = static_cast<std::size_t>(rank);
  return slice_batch(global, r * B / R, (r + 1) * B / R);
}

double global_loss_normalizer(const Batch& global, const LossOptions& options) {
  switch (options.normalization) {
    case LossNormalization::tokens: {
      const std::size_t tokens = global.target_tokens();
      return tokens > 0 ? static_cast<double>(tokens) : 1.0;
    }
    case LossNormalization::sentences:
      return static_cast<double>(global.size);
    case LossNormalization::none:
      return 1.0;
  }
  return 1.0;
}

LossStats data_parallel_forward_backward(Seq2SeqModel<float>& model, const Batch& global, const LossOptions& options,
                                         const Communicator& comm, Rng& rng) {
  const double normalizer = global_loss_normalizer(global, options);
  LossOptions shard_options = options;
  shard_options.normalization = LossNormalization::none;  // Σ ℓ_i over the shard
  const Batch shard = shard_of(global, comm.rank(), comm.size());
  LossStats local;
  if (shard.size > 0) local = model.forward_backward(shard, shard_options, true, true, rng);

  auto& grads = model.params().grads();
  comm.allreduce_sum(grads.memptr(), grads.n_elem);
  grads *= static_cast<float>(1.0 / normalizer);

  double sums[4] = {local.loss, local.nll_sum, local.tokens, local.correct};  // (4)
  comm.allreduce_sum(sums, 4);
  LossStats total;
  total.loss = sums[0] / normalizer;
  total.nll_sum = sums[1];
  total.tokens = sums[2];
  total.correct = sums[3];
  return total;
}

}  // namespace s2s
