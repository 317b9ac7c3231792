#include "s2s/decoding/evaluation.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "s2s/core/choice.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/metrics/bleu.hpp"
#include "s2s/metrics/chrf.hpp"
#include "s2s/metrics/edit_metrics.hpp"

namespace s2s {

template <typename Real>
std::vector<Translation> translate(Seq2SeqModel<Real>& model,
                                   const std::vector<std::vector<Index>>& sources,
                                   const Vocab& target_vocab, const Tokenizer& target_tokenizer,
                                   const DecodeOptions& options, uword batch_size,
                                   WorkerPool* pool,
                                   const std::vector<std::size_t>& source_numbers,
                                   const std::vector<std::vector<std::string>>& source_oovs) {
  if (!source_oovs.empty() && source_oovs.size() != sources.size())
    throw std::invalid_argument("translate: " + std::to_string(source_oovs.size()) +
                                " lists of source tokens for " + std::to_string(sources.size()) +
                                " sources");
  // Decoded in order of length (little padding), answered in input order.
  std::vector<Batch> batches = source_batches(sources, batch_size);
  std::vector<std::vector<std::size_t>> batch_indices;
  for (Batch& batch : batches) {
    batch_indices.push_back(batch.indices);
    if (!source_numbers.empty())  // sampling seeds each source by its number
      for (std::size_t& index : batch.indices) index = source_numbers.at(index);
  }
  auto decoded = decode_batches(model, batches, options, pool);
  std::vector<Translation> result(sources.size());
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const std::vector<std::size_t>& indices = batch_indices[k];
    for (std::size_t b = 0; b < indices.size(); ++b) {
      Translation& t = result[indices[b]];
      t.nbest = std::move(decoded[k][b]);
      static const std::vector<std::string> none;
      const auto& oovs = source_oovs.empty() ? none : source_oovs[indices[b]];
      t.text = target_tokenizer.decode(target_vocab.decode(t.nbest.front().tokens, oovs));
    }
  }
  return result;
}

template std::vector<Translation> translate<float>(Seq2SeqModel<float>&,
                                                   const std::vector<std::vector<Index>>&,
                                                   const Vocab&, const Tokenizer&,
                                                   const DecodeOptions&, uword, WorkerPool*,
                                                   const std::vector<std::size_t>&,
                                                   const std::vector<std::vector<std::string>>&);
template std::vector<Translation> translate<double>(Seq2SeqModel<double>&,
                                                    const std::vector<std::vector<Index>>&,
                                                    const Vocab&, const Tokenizer&,
                                                    const DecodeOptions&, uword, WorkerPool*,
                                                   const std::vector<std::size_t>&,
                                                   const std::vector<std::vector<std::string>>&);

EvalMetrics score_all(const std::vector<std::string>& hypotheses, const SegmentRefs& references) {
  EvalMetrics m;
  m.segments = hypotheses.size();
  if (hypotheses.empty()) return m;
  m.bleu = corpus_bleu(hypotheses, references).score;
  m.chrf = corpus_chrf(hypotheses, references).score;
  const G2pScore g2p = g2p_score(hypotheses, references);
  m.per = g2p.per;
  m.wer = g2p.wer;
  m.acc = g2p.accuracy;
  return m;
}

Metric parse_metric(const std::string& name) {
  return parse_choice<Metric>("metric", name,
      {{"loss", Metric::kLoss}, {"per", Metric::kPer}, {"wer", Metric::kWer}, {"acc", Metric::kAcc},
       {"bleu", Metric::kBleu}, {"chrf", Metric::kChrf}});
}

bool metric_higher_is_better(Metric metric) {
  return metric == Metric::kAcc || metric == Metric::kBleu || metric == Metric::kChrf;
}

double metric_value(const EvalMetrics& m, Metric metric) {
  switch (metric) {
    case Metric::kPer: return m.per;
    case Metric::kWer: return m.wer;
    case Metric::kAcc: return m.acc;
    case Metric::kBleu: return m.bleu;
    case Metric::kChrf: return m.chrf;
    case Metric::kLoss: break;
  }
  throw std::invalid_argument("metric_value: loss is not a decoded metric. Valid options: per, "
                              "wer, acc, bleu, chrf");
}

bool metric_higher_is_better(const std::string& metric) {
  return metric_higher_is_better(parse_metric(metric));
}

double metric_value(const EvalMetrics& m, const std::string& metric) {
  return metric_value(m, parse_metric(metric));
}

}  // namespace s2s
