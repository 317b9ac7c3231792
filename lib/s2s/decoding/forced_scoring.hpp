#pragma once
// Forced scoring: the log-probability a model gives to given outputs, token by token.
//
// The targets are fed to the decoder as greedy search feeds its own outputs (decode_step with the
// previous target token), so every Seq2SeqModel is served, ensembles included, and the values are
// the ones decoding adds up: forced scoring of a model's own greedy or beam output gives the
// log_prob that search reported (up to the float rounding of other batch shapes).
//
// Token t's entry is log P(y_t | y_<t, X); the last entry is that of </s>. A target that the
// model cannot take (longer than max_length()) is refused, naming its length.
#include <vector>

#include "s2s/core/worker_pool.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

// One batch: targets[b] (ids, without <s> and </s>) given source b of the batch.
template <typename Real>
std::vector<std::vector<double>> force_decode(Seq2SeqModel<Real>& model,
                                              const std::vector<Index>& src,
                                              const std::vector<uword>& src_lengths,
                                              uword src_steps,
                                              const std::vector<std::vector<Index>>& targets);

// A whole data set: batches of up to batch_size pairs in order of source length (with a pool,
// decoded concurrently), the result in input order.
template <typename Real>
std::vector<std::vector<double>> force_decode_all(Seq2SeqModel<Real>& model,
                                                  const std::vector<std::vector<Index>>& sources,
                                                  const std::vector<std::vector<Index>>& targets,
                                                  uword batch_size = 64,
                                                  WorkerPool* pool = nullptr);

}  // namespace s2s
