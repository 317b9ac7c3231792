#include "s2s/decoding/decoding.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace s2s {

double gnmt_length_penalty(uword length, double alpha) {
  if (alpha == 0.0) return 1.0;
  return std::pow((5.0 + static_cast<double>(length)) / 6.0, alpha);
}

double gnmt_coverage_penalty(const std::vector<double>& coverage, double beta) {
  if (beta == 0.0) return 0.0;
  double sum = 0.0;
  for (double c : coverage) sum += std::log(std::max(std::min(c, 1.0), 1e-10));
  return beta * sum;
}

uword max_output_length(uword src_length, const DecodeOptions& options) {
  const double limit = std::floor(options.max_length_ratio * static_cast<double>(src_length)) +
                       static_cast<double>(options.max_length_extra);
  // A cast of an infinite or huge double to an integer is undefined; 1e9 steps is unbounded
  // decoding in practice.
  if (!(limit >= 0 && limit < 1e9))
    throw std::invalid_argument("decoding: the output length limit max_length_ratio * " +
                                std::to_string(src_length) + " + max_length_extra is " +
                                std::to_string(limit) + ", not a number of steps below 1e9");
  return static_cast<uword>(limit);
}

namespace {

// The attention column of row `row` (first layer, heads averaged), or nothing.
template <typename Real>
std::vector<float> attention_column(const AttentionWeights<Real>& attn, uword row) {
  if (attn.empty() || attn.weights[0].empty()) return {};
  const auto& heads = attn.weights[0];
  std::vector<float> column(heads[0].n_rows, 0.0f);
  for (const auto& head : heads)
    for (uword s = 0; s < head.n_rows; ++s) column[s] += float(head(s, row)) / heads.size();
  return column;
}

// The columns of row `row` of each head of the last layer, when there are several heads.
template <typename Real>
std::vector<std::vector<float>> head_columns(const AttentionWeights<Real>& attn, uword row) {
  if (attn.empty() || attn.weights.back().size() < 2) return {};
  std::vector<std::vector<float>> columns;
  for (const auto& head : attn.weights.back())
    columns.emplace_back(head.colptr(row), head.colptr(row) + head.n_rows);
  return columns;
}

// Adds row `row`'s attention (first layer, heads averaged: attention_column's weights) at the
// first coverage.size() source positions into coverage.
template <typename Real>
void add_coverage(const AttentionWeights<Real>& attn, uword row, std::vector<double>& coverage) {
  if (attn.empty() || attn.weights[0].empty())
    throw std::invalid_argument("the coverage penalty needs a model with attention");
  const auto& heads = attn.weights[0];
  for (const auto& head : heads)
    for (uword s = 0; s < coverage.size(); ++s)
      coverage[s] += double(head(s, row)) / double(heads.size());
}

// The attention of a hypothesis under construction: Hypothesis::attention and head_attention.
struct AttentionTrace {
  std::vector<std::vector<float>> average;             // [t] (S)
  std::vector<std::vector<std::vector<float>>> heads;  // [t][h] (S)

  template <typename Real>
  void add(const AttentionWeights<Real>& attn, uword row) {
    average.push_back(attention_column(attn, row));
    auto columns = head_columns(attn, row);
    if (!columns.empty()) heads.push_back(std::move(columns));
  }
};

// max_output_length, and no longer than the model can take.
template <typename Real>
uword model_output_limit(const Seq2SeqModel<Real>& model, uword src_length,
                         const DecodeOptions& options) {
  const uword limit = max_output_length(src_length, options);
  const uword longest = model.max_length();
  if (longest > 0 && src_length > longest)
    throw std::invalid_argument("a source of " + std::to_string(src_length) +
                                " tokens is longer than the model takes (" +
                                std::to_string(longest) + ")");
  return longest > 0 ? std::min(limit, longest) : limit;
}

}  // namespace

namespace {

// Greedy search and sampling: `copies` rows per source, each extending one hypothesis by the
// token choose(log_probs, row, hypothesis) picks at each step; hypothesis b·copies + c is copy c
// of source b.
template <typename Real, typename Choose>
std::vector<std::vector<Hypothesis>> ancestral_search(Seq2SeqModel<Real>& model,
                                                      const std::vector<Index>& src,
                                                      const std::vector<uword>& src_lengths,
                                                      uword src_steps, const DecodeOptions& options,
                                                      uword copies, Choose&& choose) {
  const uword batch = src_lengths.size(), count = batch * copies;
  std::unique_ptr<DecodeState> state = model.encode(src, src_lengths, src_steps);
  if (copies > 1) {  // B sources -> B·copies rows
    std::vector<uword> expand(count);
    for (uword i = 0; i < count; ++i) expand[i] = i / copies;
    model.reorder(*state, expand);
  }
  std::vector<Hypothesis> hyps(count);
  const bool coverage = options.coverage_penalty > 0.0;
  std::vector<std::vector<double>> cover(coverage ? count : 0);
  for (uword h = 0; h < cover.size(); ++h) cover[h].assign(src_lengths[h / copies], 0.0);
  std::vector<uword> limit(batch);
  uword longest = 0;
  for (uword b = 0; b < batch; ++b) {
    limit[b] = model_output_limit(model, src_lengths[b], options);
    longest = std::max(longest, limit[b]);
  }
  // Row i of the state extends hypothesis active[i]. Finished ones leave the state (reorder)
  // once an eighth of its rows have finished, so the steps after that compute only live rows.
  std::vector<uword> active(count), still_active, keep_rows;
  for (uword h = 0; h < count; ++h) active[h] = h;
  std::vector<Index> prev(count, Vocab::kBos), next_prev;
  std::vector<bool> row_done(count, false);
  Mat<Real> log_probs;
  for (uword t = 0; t <= longest && !active.empty(); ++t) {
    model.decode_step(*state, prev, log_probs);
    AttentionWeights<Real> attn;
    if (options.keep_attention || coverage) attn = model.attention(*state);
    uword finished_rows = 0;
    for (uword i = 0; i < active.size(); ++i) {
      const uword h = active[i];
      if (row_done[i]) {
        ++finished_rows;
        continue;
      }
      Hypothesis& hyp = hyps[h];
      const uword next = choose(log_probs, i, h);
      hyp.log_prob += double(log_probs(next, i));
      // The step counts unless the limit cuts its token off.
      if (coverage && (next == uword(Vocab::kEos) || t < limit[h / copies]))
        add_coverage(attn, i, cover[h]);
      if (next == uword(Vocab::kEos) || t == limit[h / copies]) {
        // t == limit: the limit is reached; the step's token is not kept, its probability is
        // not counted.
        if (next != uword(Vocab::kEos)) hyp.log_prob -= double(log_probs(next, i));
        row_done[i] = true;
        ++finished_rows;
        prev[i] = Vocab::kPad;
        continue;
      }
      hyp.tokens.push_back(static_cast<Index>(next));
      if (options.keep_attention) {
        hyp.attention.push_back(attention_column(attn, i));
        auto columns = head_columns(attn, i);
        if (!columns.empty()) hyp.head_attention.push_back(std::move(columns));
      }
      prev[i] = static_cast<Index>(next);
    }
    if (finished_rows == active.size()) break;
    if (finished_rows == 0 || 8 * finished_rows < active.size()) continue;
    still_active.clear();
    keep_rows.clear();
    next_prev.clear();
    for (uword i = 0; i < active.size(); ++i) {
      if (row_done[i]) continue;
      still_active.push_back(active[i]);
      keep_rows.push_back(i);
      next_prev.push_back(prev[i]);
    }
    model.reorder(*state, keep_rows);
    active.swap(still_active);
    prev.swap(next_prev);
    row_done.assign(active.size(), false);
  }
  std::vector<std::vector<Hypothesis>> result(batch);
  for (uword h = 0; h < count; ++h) {
    hyps[h].score =
        hyps[h].log_prob / gnmt_length_penalty(hyps[h].tokens.size(), options.length_penalty) +
        (coverage ? gnmt_coverage_penalty(cover[h], options.coverage_penalty) : 0.0);
    result[h / copies].push_back(std::move(hyps[h]));
  }
  return result;
}

}  // namespace

std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t source, std::uint64_t sample) {
  return splitmix64(splitmix64(splitmix64(seed) ^ source) ^ sample);
}

void check_sampling_options(const SamplingOptions& options) {
  if (!(options.temperature > 0.0) || !std::isfinite(options.temperature))
    throw std::invalid_argument("sampling temperature must be a number > 0 (for the most "
                                "probable output, use greedy search: beam 1)");
  if (!(options.top_p > 0.0 && options.top_p <= 1.0))
    throw std::invalid_argument("sampling top-p must be in (0, 1]");
}

template <typename Real>
void sampling_distribution(const Real* log_probs, uword vocab, const SamplingOptions& options,
                           SampleScratch& scratch) {
  auto& kept = scratch.kept;
  kept.resize(vocab);
  double top = -std::numeric_limits<double>::infinity();
  for (uword v = 0; v < vocab; ++v) top = std::max(top, double(log_probs[v]) / options.temperature);
  for (uword v = 0; v < vocab; ++v)
    kept[v] = {std::exp(double(log_probs[v]) / options.temperature - top), v};
  const auto more_probable = [](const std::pair<double, uword>& a,
                                const std::pair<double, uword>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  uword size = vocab;
  if (options.top_k > 0 && options.top_k < vocab) {
    std::partial_sort(kept.begin(), kept.begin() + options.top_k, kept.end(), more_probable);
    size = options.top_k;
  } else {
    std::sort(kept.begin(), kept.end(), more_probable);
  }
  double total = 0.0;
  for (uword i = 0; i < size; ++i) total += kept[i].first;
  if (options.top_p < 1.0) {  // the smallest most-probable prefix whose mass reaches top_p
    double mass = 0.0;
    uword n = 0;
    while (n < size && mass < options.top_p * total) mass += kept[n++].first;
    size = std::max<uword>(n, 1);
    total = mass > 0.0 ? mass : kept[0].first;
  }
  kept.resize(size);
  for (auto& entry : kept) entry.first /= total;
}

template <typename Real>
uword sample_token(const Real* log_probs, uword vocab, const SamplingOptions& options, Rng& rng,
                   SampleScratch& scratch) {
  sampling_distribution(log_probs, vocab, options, scratch);
  double u = rng.uniform();
  for (const auto& [p, token] : scratch.kept) {
    if (u < p) return token;
    u -= p;
  }
  return scratch.kept.back().second;  // u was at the rounding edge of the last token
}

template <typename Real>
std::vector<std::vector<Hypothesis>> greedy_search(Seq2SeqModel<Real>& model,
                                                   const std::vector<Index>& src,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps, const DecodeOptions& options) {
  return ancestral_search(model, src, src_lengths, src_steps, options, 1,
                          [](const Mat<Real>& log_probs, uword row, uword) {
                            return uword(log_probs.col(row).index_max());
                          });
}

template <typename Real>
std::vector<std::vector<Hypothesis>> sample_search(Seq2SeqModel<Real>& model,
                                                   const std::vector<Index>& src,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps, const DecodeOptions& options,
                                                   const std::vector<std::size_t>& source_numbers) {
  check_sampling_options(options.sampling);
  const uword batch = src_lengths.size(), copies = std::max<uword>(1, options.nbest);
  if (!source_numbers.empty() && source_numbers.size() != batch)
    throw std::invalid_argument("sample_search: " + std::to_string(source_numbers.size()) +
                                " source numbers for " + std::to_string(batch) + " sources");
  std::vector<Rng> rngs;
  rngs.reserve(batch * copies);
  for (uword h = 0; h < batch * copies; ++h) {
    const std::uint64_t source = source_numbers.empty() ? h / copies : source_numbers[h / copies];
    rngs.emplace_back(sample_seed(options.sampling.seed, source, h % copies));
  }
  SampleScratch scratch;
  return ancestral_search(model, src, src_lengths, src_steps, options, copies,
                          [&](const Mat<Real>& log_probs, uword row, uword h) {
                            return sample_token(log_probs.colptr(row), log_probs.n_rows,
                                                options.sampling, rngs[h], scratch);
                          });
}

namespace {

// One extension of an alive beam: beam k's hypothesis followed by token v.
struct BeamCandidate {
  double log_prob;
  uword beam;   // k
  uword token;  // v
};

// The extensions of one source's alive beams (state rows first_row + k; beam_log_prob[k] = −∞
// for a dead beam), best first: returns how many are ranked, the 2K best, which are enough to
// refill K alive beams after up to K of them finish. Ties go to the lower beam, then token.
template <typename Real>
uword rank_candidates(const Mat<Real>& log_probs, uword first_row, const double* beam_log_prob,
                      uword K, std::vector<BeamCandidate>& candidates) {
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  const uword vocab = log_probs.n_rows;
  candidates.clear();
  for (uword k = 0; k < K; ++k) {
    const double base = beam_log_prob[k];
    if (base == kNegInf) continue;
    for (uword v = 0; v < vocab; ++v)
      candidates.push_back({base + double(log_probs(v, first_row + k)), k, v});
  }
  const uword keep = std::min<uword>(candidates.size(), 2 * K);
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [](const BeamCandidate& a, const BeamCandidate& c) {
                      if (a.log_prob != c.log_prob) return a.log_prob > c.log_prob;
                      if (a.beam != c.beam) return a.beam < c.beam;
                      return a.token < c.token;
                    });
  return keep;
}

// Each source's n-best list from its finished hypotheses, best score first. With K > 1 the
// greedy output joins a list that lacks it, so beam search never returns worse than greedy.
template <typename Real>
std::vector<std::vector<Hypothesis>> nbest_lists(Seq2SeqModel<Real>& model,
                                                 const std::vector<Index>& src,
                                                 const std::vector<uword>& src_lengths,
                                                 uword src_steps, const DecodeOptions& options,
                                                 std::vector<std::vector<Hypothesis>>& finished) {
  const uword K = options.beam_size, batch = finished.size();
  const uword nbest = std::max<uword>(1, std::min(options.nbest, K));
  std::vector<std::vector<Hypothesis>> result(batch);
  std::vector<std::vector<Hypothesis>> greedy;
  if (K > 1) {
    DecodeOptions greedy_options = options;
    greedy_options.beam_size = 1;
    greedy = greedy_search(model, src, src_lengths, src_steps, greedy_options);
  }
  for (uword b = 0; b < batch; ++b) {
    std::vector<Hypothesis>& list = finished[b];
    if (K > 1) {
      const Hypothesis& g = greedy[b][0];
      const bool present = std::any_of(list.begin(), list.end(),
                                       [&](const Hypothesis& h) { return h.tokens == g.tokens; });
      if (!present) list.push_back(g);
    }
    std::stable_sort(list.begin(), list.end(),
                     [](const Hypothesis& a, const Hypothesis& c) { return a.score > c.score; });
    if (list.size() > nbest) list.resize(nbest);
    result[b] = std::move(list);
  }
  return result;
}

}  // namespace

template <typename Real>
std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqModel<Real>& model,
                                                 const std::vector<Index>& src,
                                                 const std::vector<uword>& src_lengths,
                                                 uword src_steps, const DecodeOptions& options) {
  const uword K = options.beam_size;
  if (K == 0) throw std::invalid_argument("beam size must be at least 1");
  const uword batch = src_lengths.size();
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();

  std::unique_ptr<DecodeState> state = model.encode(src, src_lengths, src_steps);
  {  // B sources -> B·K rows, beam k of source b at row b·K + k
    std::vector<uword> expand(batch * K);
    for (uword i = 0; i < batch * K; ++i) expand[i] = i / K;
    model.reorder(*state, expand);
  }

  // Alive beams, row-major by (source, beam). Only beam 0 is alive at the start, so the first
  // step expands one hypothesis per source.
  std::vector<double> beam_log_prob(batch * K, kNegInf);
  for (uword b = 0; b < batch; ++b) beam_log_prob[b * K] = 0.0;
  std::vector<std::vector<Index>> beam_tokens(batch * K);
  std::vector<AttentionTrace> beam_attention(batch * K);
  // Σ of each beam's attention over its steps, when the coverage penalty is on.
  const bool coverage = options.coverage_penalty > 0.0;
  std::vector<std::vector<double>> beam_coverage(coverage ? batch * K : 0), next_coverage;
  for (uword r = 0; r < beam_coverage.size(); ++r) beam_coverage[r].assign(src_lengths[r / K], 0.0);
  next_coverage = beam_coverage;
  std::vector<double> ending;  // a finishing hypothesis's coverage
  std::vector<std::vector<Hypothesis>> finished(batch);
  std::vector<uword> limit(batch);
  uword longest = 0;
  for (uword b = 0; b < batch; ++b) {
    limit[b] = model_output_limit(model, src_lengths[b], options);
    longest = std::max(longest, limit[b]);
  }

  std::vector<BeamCandidate> candidates;
  // The state holds the K beams of the sources still searching: beam k of source active[i] is
  // state row i·K + k. A finished source leaves the state at the next reorder. The hypotheses'
  // bookkeeping (log-probabilities, tokens, attention) stays indexed by source: b·K + k.
  std::vector<uword> active(batch), still_active;
  for (uword b = 0; b < batch; ++b) active[b] = b;
  std::vector<Index> prev(batch * K, Vocab::kBos);
  std::vector<uword> rows;
  std::vector<double> next_log_prob(batch * K);
  std::vector<std::vector<Index>> next_tokens(batch * K);
  std::vector<AttentionTrace> next_attention(batch * K);
  Mat<Real> log_probs;

  auto finish = [&](uword b, std::vector<Index> tokens, double log_prob,
                    AttentionTrace attention, const std::vector<double>* coverage_sum) {
    Hypothesis h;
    h.score = log_prob / gnmt_length_penalty(tokens.size(), options.length_penalty);
    if (coverage_sum) h.score += gnmt_coverage_penalty(*coverage_sum, options.coverage_penalty);
    h.tokens = std::move(tokens);
    h.log_prob = log_prob;
    h.attention = std::move(attention.average);
    h.head_attention = std::move(attention.heads);
    finished[b].push_back(std::move(h));
  };

  for (uword t = 0; t <= longest && !active.empty(); ++t) {
    model.decode_step(*state, prev, log_probs);
    AttentionWeights<Real> attn;
    if (options.keep_attention || coverage) attn = model.attention(*state);
    rows.clear();
    still_active.clear();
    for (uword i = 0; i < active.size(); ++i) {
      const uword b = active[i];
      const uword keep = rank_candidates(log_probs, i * K, &beam_log_prob[b * K], K, candidates);
      uword alive = 0;
      const bool at_limit = (t == limit[b]);
      const uword slot = still_active.size();  // the source's position in the next state
      for (uword j = 0; j < keep && alive < K && finished[b].size() < K; ++j) {
        const BeamCandidate& c = candidates[j];
        const uword from = b * K + c.beam;
        if (c.token == uword(Vocab::kEos) || at_limit) {
          // At the limit the hypothesis ends without the step's token (as in greedy search).
          const double lp = at_limit && c.token != uword(Vocab::kEos) ? beam_log_prob[from] : c.log_prob;
          if (at_limit && c.token != uword(Vocab::kEos)) {
            // one finished copy per surviving beam, not one per candidate token
            bool seen = false;
            for (uword q = 0; q < j; ++q) seen = seen || candidates[q].beam == c.beam;
            if (seen) continue;
          }
          const std::vector<double>* coverage_sum = nullptr;
          if (coverage) {
            ending = beam_coverage[from];
            if (c.token == uword(Vocab::kEos)) add_coverage(attn, i * K + c.beam, ending);
            coverage_sum = &ending;
          }
          finish(b, beam_tokens[from], lp, beam_attention[from], coverage_sum);
          continue;
        }
        const uword to = b * K + alive;
        rows.push_back(i * K + c.beam);
        next_log_prob[to] = c.log_prob;
        next_tokens[to] = beam_tokens[from];
        next_tokens[to].push_back(static_cast<Index>(c.token));
        if (options.keep_attention) {
          next_attention[to] = beam_attention[from];
          next_attention[to].add(attn, i * K + c.beam);
        }
        if (coverage) {
          next_coverage[to] = beam_coverage[from];
          add_coverage(attn, i * K + c.beam, next_coverage[to]);
        }
        prev[slot * K + alive] = static_cast<Index>(c.token);
        ++alive;
      }
      if (finished[b].size() >= K || alive == 0 || at_limit) {
        rows.resize(slot * K);  // done: its beams leave the state
        continue;
      }
      for (uword k = alive; k < K; ++k) {  // dead beams: placeholders that score −∞
        rows.push_back(i * K);
        next_log_prob[b * K + k] = kNegInf;
        next_tokens[b * K + k].clear();
        prev[slot * K + k] = Vocab::kPad;
      }
      still_active.push_back(b);
    }
    for (uword b : still_active)
      for (uword k = 0; k < K; ++k) {
        beam_log_prob[b * K + k] = next_log_prob[b * K + k];
        beam_tokens[b * K + k].swap(next_tokens[b * K + k]);
        if (options.keep_attention) beam_attention[b * K + k] = std::move(next_attention[b * K + k]);
        if (coverage) beam_coverage[b * K + k].swap(next_coverage[b * K + k]);
      }
    active.swap(still_active);
    prev.resize(active.size() * K);
    if (!active.empty()) model.reorder(*state, rows);
  }

  return nbest_lists(model, src, src_lengths, src_steps, options, finished);
}

template <typename Real>
std::vector<std::vector<Hypothesis>> decode(Seq2SeqModel<Real>& model,
                                            const std::vector<Index>& src,
                                            const std::vector<uword>& src_lengths,
                                            uword src_steps, const DecodeOptions& options) {
  if (options.sampling.enabled)
    return sample_search(model, src, src_lengths, src_steps, options, {});
  if (options.beam_size <= 1) return greedy_search(model, src, src_lengths, src_steps, options);
  return beam_search(model, src, src_lengths, src_steps, options);
}

template <typename Real>
std::vector<std::vector<std::vector<Hypothesis>>> decode_batches(Seq2SeqModel<Real>& model,
                                                                 const std::vector<Batch>& batches,
                                                                 const DecodeOptions& options,
                                                                 WorkerPool* pool) {
  std::vector<std::vector<std::vector<Hypothesis>>> results(batches.size());
  WorkerPool::run_tasks(pool, batches.size(), [&](std::size_t i) {
    const Batch& b = batches[i];
    results[i] = options.sampling.enabled
                     ? sample_search(model, b.source_ids, b.source_lengths, b.source_steps,
                                     options, b.indices)
                     : decode(model, b.source_ids, b.source_lengths, b.source_steps, options);
  });
  return results;
}

#define S2S_INSTANTIATE_DECODING(Real)                                                         \
  template std::vector<std::vector<Hypothesis>> greedy_search<Real>(                           \
      Seq2SeqModel<Real>&, const std::vector<Index>&, const std::vector<uword>&, uword,       \
      const DecodeOptions&);                                                                   \
  template std::vector<std::vector<Hypothesis>> beam_search<Real>(                             \
      Seq2SeqModel<Real>&, const std::vector<Index>&, const std::vector<uword>&, uword,       \
      const DecodeOptions&);                                                                   \
  template std::vector<std::vector<Hypothesis>> sample_search<Real>(                           \
      Seq2SeqModel<Real>&, const std::vector<Index>&, const std::vector<uword>&, uword,       \
      const DecodeOptions&, const std::vector<std::size_t>&);                                  \
  template void sampling_distribution<Real>(const Real*, uword, const SamplingOptions&,        \
                                            SampleScratch&);                                   \
  template uword sample_token<Real>(const Real*, uword, const SamplingOptions&, Rng&,         \
                                    SampleScratch&);                                           \
  template std::vector<std::vector<Hypothesis>> decode<Real>(                                  \
      Seq2SeqModel<Real>&, const std::vector<Index>&, const std::vector<uword>&, uword,       \
      const DecodeOptions&);                                                                   \
  template std::vector<std::vector<std::vector<Hypothesis>>> decode_batches<Real>(             \
      Seq2SeqModel<Real>&, const std::vector<Batch>&, const DecodeOptions&, WorkerPool*);
S2S_INSTANTIATE_DECODING(float)
S2S_INSTANTIATE_DECODING(double)

}  // namespace s2s
