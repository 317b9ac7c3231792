#pragma once
// The teacher-forced loss of every Seq2SeqModel: softmax cross-entropy over the logits of all
// T·B target positions at once, <pad> ignored, with LossOptions' label smoothing and
// normalisation ("sentences" divides by the batch size).
//
//   logits (V × T·B), targets batch.target_output_ids (T·B)
#include "s2s/data/batching.hpp"
#include "s2s/layers/cross_entropy.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

// Fills cache for sequence_loss_backward.
template <typename Real>
LossStats sequence_loss_forward(const Mat<Real>& logits, const Batch& batch,
                                const LossOptions& options, CrossEntropyCache<Real>& cache);

// What a batch's summed loss is divided by (options.normalization): its target tokens (at least
// 1), its sentences, or 1. For the losses that join the cross-entropy (coverage, copy).
double loss_denominator(const LossOptions& options, double tokens, uword sentences);

// Overwrites d_logits (V × T·B) with ∂loss/∂logits.
template <typename Real>
void sequence_loss_backward(const Batch& batch, const LossOptions& options,
                            const CrossEntropyCache<Real>& cache, Mat<Real>& d_logits);

}  // namespace s2s
