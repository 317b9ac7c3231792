#include "s2s/training/data_parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

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
  if (batch.indices.size() == B)  // batches built elsewhere may not say where they came from
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
  return global_loss_normalizer({&global}, options);
}

double global_loss_normalizer(const std::vector<const Batch*>& batches,
                              const LossOptions& options) {
  if (options.normalization == LossNormalization::none) return 1.0;
  double n = 0.0;
  for (const Batch* batch : batches)
    n += static_cast<double>(options.normalization == LossNormalization::tokens
                                 ? batch->target_tokens()
                                 : batch->size);
  return n > 0 ? n : 1.0;
}

GradientWorkers::GradientWorkers(const ReplicaFactory& make_replica, std::vector<Rng> rngs)
    : rngs_(std::move(rngs)), pool_(static_cast<int>(rngs_.size()) + 1) {
  for (std::size_t w = 0; w < rngs_.size(); ++w) replicas_.push_back(make_replica());
}

namespace {

LossStats add_stats(LossStats a, const LossStats& b) {
  a.loss += b.loss;
  a.nll_sum += b.nll_sum;
  a.tokens += b.tokens;
  a.correct += b.correct;
  return a;
}

// Σ over the shard's sentences of the unnormalised loss, and its gradient added into the
// model's grads, split over the workers' threads.
LossStats threaded_sum_gradient(Seq2SeqModel<float>& model, const Batch& shard,
                                const LossOptions& sum_options, Rng& rng,
                                GradientWorkers& workers) {
  const int W = workers.size();
  std::vector<LossStats> stats(static_cast<std::size_t>(W));
  workers.pool().run([&](int w) {
    const Batch part = shard_of(shard, w, W);
    Seq2SeqModel<float>& m = w == 0 ? model : workers.replica(w);
    if (w > 0) {
      m.params().values() = model.params().values();  // same size: copies into the buffer
      m.params().zero_grad();
    }
    if (part.size > 0)
      stats[static_cast<std::size_t>(w)] =
          m.forward_backward(part, sum_options, true, true, w == 0 ? rng : workers.rng(w));
  });
  // Σ_w of the gradients, each worker adding up one chunk of the buffer (replicas in order).
  float* grads = model.params().grads().memptr();
  workers.pool().run_chunks(model.params().size(), [&](std::size_t first, std::size_t last) {
    for (int r = 1; r < W; ++r) {
      const float* from = workers.replica(r).params().grads().memptr();
      for (std::size_t i = first; i < last; ++i) grads[i] += from[i];
    }
  });
  LossStats total = stats[0];
  for (int w = 1; w < W; ++w) total = add_stats(total, stats[static_cast<std::size_t>(w)]);
  return total;
}

}  // namespace

LossStats data_parallel_forward_backward(Seq2SeqModel<float>& model, const Batch& global,
                                         const LossOptions& options, const Communicator& comm,
                                         Rng& rng, GradientWorkers* workers) {
  return accumulated_forward_backward(model, {&global}, options, comm, rng, workers);
}

LossStats accumulated_forward_backward(Seq2SeqModel<float>& model,
                                       const std::vector<const Batch*>& batches,
                                       const LossOptions& options, const Communicator& comm,
                                       Rng& rng, GradientWorkers* workers) {
  const double normalizer = global_loss_normalizer(batches, options);
  LossOptions shard_options = options;
  shard_options.normalization = LossNormalization::none;  // Σ ℓ_i over the shard
  LossStats local;
  for (const Batch* global : batches) {
    const Batch shard = shard_of(*global, comm.rank(), comm.size());
    if (workers != nullptr && workers->size() > 1)
      local = add_stats(local, threaded_sum_gradient(model, shard, shard_options, rng, *workers));
    else if (shard.size > 0)
      local = add_stats(local, model.forward_backward(shard, shard_options, true, true, rng));
  }

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
