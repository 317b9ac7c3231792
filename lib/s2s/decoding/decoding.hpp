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
// With K = 1 the search is exactly greedy search. Beam search is not monotone in K (a pruned
// prefix can lead to the best output), so for K > 1 the greedy hypothesis is scored too and kept
// in the n-best list: the best output of K > 1 never scores below K = 1's.
#include <vector>

#include "s2s/core/worker_pool.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

struct DecodeOptions {
  uword beam_size = 1;
  double length_penalty = 0.0;     // α
  double max_length_ratio = 2.0;
  uword max_length_extra = 10;
  uword nbest = 1;                 // hypotheses returned per source (≤ beam_size)
  bool keep_attention = false;     // collect the attention weights of the best hypothesis
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

// Dispatches on options.beam_size.
template <typename Real>
std::vector<std::vector<Hypothesis>> decode(Seq2SeqModel<Real>& model,
                                            const std::vector<Index>& src,
                                            const std::vector<uword>& src_lengths,
                                            uword src_steps, const DecodeOptions& options);

// decode() of every batch; result[i] is batch i's. With a pool of W > 1 workers the batches are
// decoded concurrently on the shared model (decoding only reads it), each batch whole, so the
// result is the same for every W. BLAS should then run single-threaded (worker_pool.hpp).
template <typename Real>
std::vector<std::vector<std::vector<Hypothesis>>> decode_batches(Seq2SeqModel<Real>& model,
                                                                 const std::vector<Batch>& batches,
                                                                 const DecodeOptions& options,
                                                                 WorkerPool* pool = nullptr);

double gnmt_length_penalty(uword length, double alpha);
uword max_output_length(uword src_length, const DecodeOptions& options);

}  // namespace s2s
