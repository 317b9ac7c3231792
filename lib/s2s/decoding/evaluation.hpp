#pragma once
// Decoding a whole data set with a model and scoring it with every metric of the toolkit.
//
//   translate()   source id sequences -> hypotheses (batched, sorted by length for speed, returned
//                 in the input order), detokenised by the target tokenizer; with a WorkerPool
//                 the batches are decoded concurrently (decode_batches: same output for any
//                 number of workers). source_numbers[i] is source i's number in the whole
//                 input (empty: i), which seeds its samples, so a line streamed in a later
//                 chunk samples as it would in one file. With source_oovs (model.copy: the
//                 sources' ids in their extended vocabularies, Vocab::extend), output ids past
//                 the vocabulary are source i's tokens source_oovs[i][id − V].
//   score_all()   hypotheses + references -> BLEU, chrF, PER, WER, exact match
// PER/WER split hypotheses and references on whitespace (phonemes for G2P); BLEU and chrF are
// sacreBLEU's defaults. Every reference segment may hold several alternatives (metrics.hpp).
#include <string>
#include <vector>

#include "s2s/data/tokenizer.hpp"
#include "s2s/data/vocab.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/metrics/metrics.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

struct Translation {
  std::string text;             // detokenised best hypothesis
  std::vector<Hypothesis> nbest;  // best first
};

template <typename Real>
std::vector<Translation> translate(Seq2SeqModel<Real>& model,
                                   const std::vector<std::vector<Index>>& sources,
                                   const Vocab& target_vocab, const Tokenizer& target_tokenizer,
                                   const DecodeOptions& options, uword batch_size = 64,
                                   WorkerPool* pool = nullptr,
                                   const std::vector<std::size_t>& source_numbers = {},
                                   const std::vector<std::vector<std::string>>& source_oovs = {});

struct EvalMetrics {
  double bleu = 0, chrf = 0, per = 0, wer = 0, acc = 0;
  std::size_t segments = 0;
};

EvalMetrics score_all(const std::vector<std::string>& hypotheses, const SegmentRefs& references);

// The metrics a run can select by name (train.early_stopping_metric): loss, per, wer, acc, bleu,
// chrf. parse_metric throws std::invalid_argument listing them.
enum class Metric { kLoss, kPer, kWer, kAcc, kBleu, kChrf };
Metric parse_metric(const std::string& name);
bool metric_higher_is_better(Metric metric);
// A decoded metric's value (not kLoss: the loss is not an EvalMetrics field).
double metric_value(const EvalMetrics& metrics, Metric metric);
// The same by name.
bool metric_higher_is_better(const std::string& metric);
double metric_value(const EvalMetrics& metrics, const std::string& metric);

}  // namespace s2s
