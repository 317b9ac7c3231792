#pragma once
// Decoding for any Seq2SeqModel: batched greedy search and batched beam search.
//
// Lengths: a hypothesis has at most max_length(S) = floor(max_length_ratio · S) + max_length_extra
// tokens, </s> excluded; one that has not produced </s> by then ends there.
//
// Beam search (width K) keeps, per source, the K best partial hypotheses by summed
// log-probability; a hypothesis that emits </s> is finished and ranked by the GNMT-normalised
// score  log P(Y|X) / lp(Y),  lp(Y) = ((5 + |Y|) / 6)^α  (Wu et al. 2016; α = 0 means no
// normalisation). A source is done when K hypotheses have finished or the length limit is hit.
// With a coverage penalty β > 0 (GNMT's), a finished hypothesis's score adds
//   cp(X; Y) = β Σ_i log(min(Σ_t a_ti, 1))   over the real source positions i,
// where a_t is the attention of output step t (</s>'s step included; the weights that
// --attention-out writes: the RNN's attention, the Transformer's first layer averaged over heads),
// floored at log(1e-10) per position so that an unattended position is a large, finite penalty.
// It ranks finished hypotheses (the n-best list and greedy's score); the beam keeps its partial
// hypotheses by log-probability, as in GNMT.
// With K = 1 the search is exactly greedy search. Beam search is not monotone in K (a pruned
// prefix can lead to the best output), so for K > 1 the greedy hypothesis is scored too and kept
// in the n-best list: the best output of K > 1 never scores below K = 1's.
//
// Sampling (ancestral): each output token is drawn from the model's next-token distribution,
// sharpened or flattened by a temperature τ (p ∝ p^(1/τ)), then cut to the k most probable tokens
// (top-k; Fan et al. 2018) and to the smallest set of most probable tokens whose mass reaches p
// (top-p, nucleus sampling; Holtzman et al. 2020), and renormalised. Each source draws its own
// samples from a generator seeded by (seed, the source's number in the input, the sample's
// number), so a line's samples do not depend on batching, workers or the other lines. A sampled
// hypothesis reports the model's own log-probability (without τ or the cuts), which is what
// forced scoring of that output gives (forced_scoring.hpp).
#include <cstdint>
#include <vector>

#include "s2s/core/rng.hpp"
#include "s2s/core/worker_pool.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

struct SamplingOptions {
  bool enabled = false;      // sample instead of searching; nbest = samples per source
  double temperature = 1.0;  // τ > 0
  uword top_k = 0;           // 0: no cut
  double top_p = 1.0;        // in (0, 1]; 1: no cut
  std::uint64_t seed = 1;
};

struct DecodeOptions {
  uword beam_size = 1;
  double length_penalty = 0.0;     // α
  double coverage_penalty = 0.0;   // β
  double max_length_ratio = 2.0;
  uword max_length_extra = 10;
  uword nbest = 1;                 // hypotheses returned per source (≤ beam_size)
  bool keep_attention = false;     // collect the attention weights of the best hypothesis
  SamplingOptions sampling;        // when enabled, decode() samples (beam_size is not used)
};

struct Hypothesis {
  std::vector<Index> tokens;       // without <s> and </s>
  double log_prob = 0.0;           // Σ log P(y_t | y_<t, X), </s> included when produced
  double score = 0.0;              // log_prob / lp(Y): what the n-best list is sorted by
  // attention[t] is the (S) weight column of output step t (layer 0 / head average), when asked.
  std::vector<std::vector<float>> attention;
  // head_attention[t][h] is the (S) weight column of head h of the last layer at output step t,
  // when asked and the model has several heads (the Transformer); empty otherwise.
  std::vector<std::vector<std::vector<float>>> head_attention;
};

// For each source in the batch, its n-best hypotheses, best first.
template <typename Real>
std::vector<std::vector<Hypothesis>> greedy_search(Seq2SeqModel<Real>& model,
                                                   const std::vector<Index>& src,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps, const DecodeOptions& options);

template <typename Real>
std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqModel<Real>& model,
                                                 const std::vector<Index>& src,
                                                 const std::vector<uword>& src_lengths,
                                                 uword src_steps, const DecodeOptions& options);

// options.nbest samples per source, in the order drawn (not sorted). source_numbers[b] is source
// b's number in the whole input, which seeds its samples (empty: 0, 1, 2, ...).
template <typename Real>
std::vector<std::vector<Hypothesis>> sample_search(Seq2SeqModel<Real>& model,
                                                   const std::vector<Index>& src,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps, const DecodeOptions& options,
                                                   const std::vector<std::size_t>& source_numbers);

// One token drawn from a (V) column of log-probabilities as SamplingOptions describe.
// `scratch` is reused between calls (no allocation once it has grown to V).
struct SampleScratch {
  std::vector<std::pair<double, uword>> kept;  // (probability, token), most probable first
};
// The distribution sample_token draws from: scratch.kept holds the tokens that survive the cuts
// with their renormalised probabilities, most probable first (ties: lower token first).
template <typename Real>
void sampling_distribution(const Real* log_probs, uword vocab, const SamplingOptions& options,
                           SampleScratch& scratch);
template <typename Real>
uword sample_token(const Real* log_probs, uword vocab, const SamplingOptions& options, Rng& rng,
                   SampleScratch& scratch);

// The generator of sample `sample` of source number `source` (splitmix64 of the three).
std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t source, std::uint64_t sample);
// τ > 0, 0 < top_p <= 1; otherwise std::invalid_argument naming the option.
void check_sampling_options(const SamplingOptions& options);

// Dispatches on options.sampling.enabled, then options.beam_size.
template <typename Real>
std::vector<std::vector<Hypothesis>> decode(Seq2SeqModel<Real>& model,
                                            const std::vector<Index>& src,
                                            const std::vector<uword>& src_lengths,
                                            uword src_steps, const DecodeOptions& options);

// decode() of every batch; result[i] is batch i's. Sampling seeds each source by its
// Batch::indices entry. With a pool of W > 1 workers the batches are
// decoded concurrently on the shared model (decoding only reads it), each batch whole, so the
// result is the same for every W. BLAS should then run single-threaded (worker_pool.hpp).
template <typename Real>
std::vector<std::vector<std::vector<Hypothesis>>> decode_batches(Seq2SeqModel<Real>& model,
                                                                 const std::vector<Batch>& batches,
                                                                 const DecodeOptions& options,
                                                                 WorkerPool* pool = nullptr);

double gnmt_length_penalty(uword length, double alpha);
// β Σ_i log(max(min(coverage_i, 1), 1e-10)); 0 when β = 0.
double gnmt_coverage_penalty(const std::vector<double>& coverage, double beta);
uword max_output_length(uword src_length, const DecodeOptions& options);

}  // namespace s2s
