#pragma once
// Synchronous data-parallel gradient of one global batch over R ranks.
//
// The global batch G (B sentences, the same on every rank: same data, seed and plan) is cut into
// R contiguous shards; rank r takes sentences [⌊rB/R⌋, ⌊(r+1)B/R⌋) (an empty shard when B < R).
// With ℓ_i the (label-smoothed) loss of target token i and N the normaliser of the GLOBAL batch
//   N = Σ_{i∈G} 1 = Σ target_lengths   (train.normalization = tokens)
//   N = B                              (sentences)
//   N = 1                              (none)
// the loss is L = (1/N) Σ_{i∈G} ℓ_i = (1/N) Σ_r Σ_{i∈shard r} ℓ_i, so
//   ∇L = (1/N) · allreduce_sum_r( ∇ Σ_{i∈shard r} ℓ_i )
// Each rank differentiates its shard's unnormalised sum (normalization none), one all-reduce
// sums the flat gradient buffers, and every rank scales by 1/N, which it knows without
// communication from G. The result equals the single-process gradient of G up to the order of
// floating-point summation. A second, 4-double all-reduce sums the loss statistics.
//
// Not equal to the single process: dropout masks and scheduled-sampling draws, which come from
// each rank's own Rng (seeded per rank by the trainer).
//
// Worker threads (GradientWorkers, train.workers = W > 1) split a rank's shard once more, the
// same way, over W threads of the process: worker w differentiates sub-shard w with its own
// model replica (parameters copied from the trained model before the step) and its own Rng,
// and the replicas' gradients are added into the model's in the order w = 1 .. W−1 before the
// all-reduce. The sum is the same for every run with the same W (and R), so training stays
// bit-reproducible; a different W changes the order of summation (and the dropout draws).
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "s2s/core/rng.hpp"
#include "s2s/core/worker_pool.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/models/seq2seq_model.hpp"
#include "s2s/training/distributed.hpp"

namespace s2s {

// Sentences [first, last) of a batch, padded to their own longest source and target
// (time-major layout kept: entry t·B' + b of the shard is entry t·B + first + b of `batch`).
Batch slice_batch(const Batch& batch, std::size_t first, std::size_t last);

// Rank `rank`'s shard of a batch of B sentences over R = `ranks`: [⌊rB/R⌋, ⌊(r+1)B/R⌋).
Batch shard_of(const Batch& global, int rank, int ranks);

// The normaliser N of the global batch for options.normalization (see above).
double global_loss_normalizer(const Batch& global, const LossOptions& options);
// The normaliser of several batches taken as one: their tokens (or sentences) add up.
double global_loss_normalizer(const std::vector<const Batch*>& batches, const LossOptions& options);

// W threads of one process for the gradient of a batch: worker 0 is the caller with the trained
// model and the caller's Rng; worker w ≥ 1 has replica(w) (a model of the same configuration,
// whose parameters are overwritten at every step) and rng(w).
class GradientWorkers {
 public:
  using ReplicaFactory = std::function<std::unique_ptr<Seq2SeqModel<float>>()>;
  // rngs[w − 1] is worker w's Rng; rngs.size() + 1 workers.
  GradientWorkers(const ReplicaFactory& make_replica, std::vector<Rng> rngs);

  int size() const { return pool_.size(); }
  WorkerPool& pool() { return pool_; }
  Seq2SeqModel<float>& replica(int worker) { return *replicas_.at(worker - 1); }
  Rng& rng(int worker) { return rngs_.at(worker - 1); }

 private:
  std::vector<Rng> rngs_;
  std::vector<std::unique_ptr<Seq2SeqModel<float>>> replicas_;
  WorkerPool pool_;
};

// Zero grads are expected on entry; on return params().grads() holds ∇L of the global batch on
// every rank, and the statistics are those of the global batch (loss = L). Collective: every
// rank of comm must call it with the same global batch. `workers` (may be null: the caller
// alone) splits this rank's shard over threads.
LossStats data_parallel_forward_backward(Seq2SeqModel<float>& model, const Batch& global,
                                         const LossOptions& options, const Communicator& comm,
                                         Rng& rng, GradientWorkers* workers = nullptr);

// Gradient accumulation (train.accumulate): the same for several batches taken as one global
// batch, ∇ (Σ_batches Σ_i ℓ_i) / N with N their joint normaliser, computed one batch at a time
// (memory of one batch). Equals data_parallel_forward_backward on the batches concatenated, up
// to the order of summation; dropout draws follow the batches' order.
LossStats accumulated_forward_backward(Seq2SeqModel<float>& model,
                                       const std::vector<const Batch*>& batches,
                                       const LossOptions& options, const Communicator& comm,
                                       Rng& rng, GradientWorkers* workers = nullptr);

}  // namespace s2s
