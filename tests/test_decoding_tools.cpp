// Decoding tools for analysis (issue 17): sampling (temperature, top-k, top-p; reproducible for a
// seed whatever the batching) and forced scoring (the log-probability of given outputs).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numeric>
#include <regex>
#include <sstream>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/decoding/ensemble.hpp"
#include "s2s/decoding/forced_scoring.hpp"
#include "s2s/models/model_factory.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

std::unique_ptr<Seq2SeqModel<float>> small_model(const std::string& type, std::uint64_t seed) {
  return tiny_model(type, seed, 12);
}

const std::vector<SequencePair> kSources = {
    {{4, 5, 6, 7}, {4}}, {{8, 9}, {4}}, {{5, 5, 6}, {4}}, {{11, 4, 10, 6, 7}, {4}}};

DecodeOptions sampling(double temperature, uword top_k, double top_p, std::uint64_t seed,
                       uword samples) {
  DecodeOptions options;
  options.max_length_extra = 5;
  options.nbest = samples;
  options.sampling = {true, temperature, top_k, top_p, seed};
  return options;
}

std::vector<std::vector<Hypothesis>> sample(Seq2SeqModel<float>& model,
                                            const std::vector<std::size_t>& which,
                                            const DecodeOptions& options,
                                            const std::vector<std::size_t>& numbers) {
  const Batch batch = make_batch(kSources, which);
  return sample_search(model, batch.source_ids, batch.source_lengths, batch.source_steps,
                       options, numbers);
}

std::vector<float> log_probs_of(const std::vector<double>& probs) {
  std::vector<float> lp;
  for (double p : probs) lp.push_back(float(std::log(p)));
  return lp;
}

}  // namespace

TEST_CASE("The sampling distribution applies temperature, then top-k, then top-p",
          "[decoding_tools]") {
  const std::vector<float> lp = log_probs_of({0.1, 0.5, 0.05, 0.3, 0.05});
  SampleScratch s;
  auto as_map = [&] {
    std::map<uword, double> m;
    for (const auto& [p, token] : s.kept) m[token] = p;
    return m;
  };
  sampling_distribution(lp.data(), lp.size(), {true, 1.0, 0, 1.0, 1}, s);
  REQUIRE(s.kept.size() == 5);
  CHECK(s.kept[0].second == 1);  // most probable first
  CHECK(s.kept[1].second == 3);
  CHECK(s.kept[3].second == 2);  // the tie 0.05 / 0.05: lower token first
  CHECK(as_map()[0] == Approx(0.1).epsilon(1e-6));

  sampling_distribution(lp.data(), lp.size(), {true, 1.0, 2, 1.0, 1}, s);
  REQUIRE(s.kept.size() == 2);
  CHECK(as_map()[1] == Approx(0.5 / 0.8).epsilon(1e-6));
  CHECK(as_map()[3] == Approx(0.3 / 0.8).epsilon(1e-6));

  // top-p 0.7: 0.5 < 0.7, 0.5 + 0.3 reaches it
  sampling_distribution(lp.data(), lp.size(), {true, 1.0, 0, 0.7, 1}, s);
  REQUIRE(s.kept.size() == 2);
  CHECK(as_map()[1] == Approx(0.5 / 0.8).epsilon(1e-6));
  // top-p 0.5 exactly reached by the first
  sampling_distribution(lp.data(), lp.size(), {true, 1.0, 0, 0.5, 1}, s);
  CHECK(s.kept.size() == 1);
  // top-k 3 then top-p 0.9 of the renormalised 0.5 / 0.9, 0.3 / 0.9, 0.1 / 0.9: all three
  sampling_distribution(lp.data(), lp.size(), {true, 1.0, 3, 0.9, 1}, s);
  CHECK(s.kept.size() == 3);

  // Temperature 0.5 squares the probabilities.
  sampling_distribution(lp.data(), lp.size(), {true, 0.5, 0, 1.0, 1}, s);
  const double z = 0.01 + 0.25 + 0.0025 + 0.09 + 0.0025;
  CHECK(as_map()[1] == Approx(0.25 / z).epsilon(1e-5));
  CHECK(as_map()[2] == Approx(0.0025 / z).epsilon(1e-5));

  CHECK_THROWS_AS(check_sampling_options({true, 0.0, 0, 1.0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(check_sampling_options({true, 1.0, 0, 0.0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(check_sampling_options({true, 1.0, 0, 1.5, 1}), std::invalid_argument);
  CHECK_NOTHROW(check_sampling_options({true, 2.0, 3, 0.9, 1}));
}

TEST_CASE("Drawn tokens follow the sampling distribution", "[decoding_tools]") {
  const std::vector<float> lp = log_probs_of({0.1, 0.5, 0.05, 0.3, 0.05});
  const SamplingOptions options = GENERATE(SamplingOptions{true, 1.0, 0, 1.0, 1},
                                           SamplingOptions{true, 1.0, 3, 1.0, 1},
                                           SamplingOptions{true, 0.7, 0, 0.85, 1});
  INFO("temperature " << options.temperature << " top-k " << options.top_k << " top-p "
                      << options.top_p);
  SampleScratch s;
  sampling_distribution(lp.data(), lp.size(), options, s);
  std::map<uword, double> expected;
  for (const auto& [p, token] : s.kept) expected[token] = p;
  Rng rng(5);
  const int draws = 40000;
  std::map<uword, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sample_token(lp.data(), lp.size(), options, rng, s)];
  for (const auto& [token, count] : counts) {
    INFO("token " << token);
    REQUIRE(expected.count(token) == 1);  // never a token that the cuts removed
    // 4 standard deviations of a binomial share
    const double p = expected[token];
    CHECK(std::abs(double(count) / draws - p) < 4 * std::sqrt(p * (1 - p) / draws) + 1e-9);
  }
}

TEST_CASE("Sampling with top-k 1 is greedy search. a seed gives the same samples in any batch",
          "[decoding_tools]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  INFO(type);
  auto model = small_model(type, 7);
  const std::vector<std::size_t> all = {0, 1, 2, 3};

  // top-k 1 keeps only the argmax: exactly greedy search, bit for bit.
  const Batch batch = make_batch(kSources, all);
  DecodeOptions greedy_options;
  greedy_options.max_length_extra = 5;
  const auto greedy = greedy_search(*model, batch.source_ids, batch.source_lengths,
                                    batch.source_steps, greedy_options);
  const auto top1 = sample(*model, all, sampling(1.0, 1, 1.0, 3, 1), {});
  for (std::size_t b = 0; b < all.size(); ++b) {
    CHECK(top1[b][0].tokens == greedy[b][0].tokens);
    CHECK(top1[b][0].log_prob == greedy[b][0].log_prob);
  }

  // The same seed and numbers: the same samples; another seed: others.
  const DecodeOptions flat = sampling(3.0, 0, 1.0, 11, 4);
  const auto first = sample(*model, all, flat, {20, 21, 22, 23});
  const auto again = sample(*model, all, flat, {20, 21, 22, 23});
  const auto other = sample(*model, all, sampling(3.0, 0, 1.0, 12, 4), {20, 21, 22, 23});
  bool any_difference = false;
  for (std::size_t b = 0; b < all.size(); ++b) {
    REQUIRE(first[b].size() == 4);
    for (std::size_t k = 0; k < 4; ++k) {
      CHECK(first[b][k].tokens == again[b][k].tokens);
      CHECK(first[b][k].log_prob == again[b][k].log_prob);
      any_difference = any_difference || first[b][k].tokens != other[b][k].tokens;
    }
  }
  CHECK(any_difference);

  // Each source alone, with its number: the same tokens as in the batch.
  for (std::size_t b = 0; b < all.size(); ++b) {
    const auto alone = sample(*model, {all[b]}, flat, {20 + b});
    for (std::size_t k = 0; k < 4; ++k) {
      CHECK(alone[0][k].tokens == first[b][k].tokens);
      CHECK(alone[0][k].log_prob == Approx(first[b][k].log_prob).epsilon(1e-5));
    }
  }
}

TEST_CASE("Forced scoring of a model's own output gives the log-probability search reported",
          "[decoding_tools]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  INFO(type);
  auto model = small_model(type, 9);
  auto second = small_model(type == "rnn" ? "transformer" : "rnn", 10);
  EnsembleModel ensemble({model.get(), second.get()});
  for (Seq2SeqModel<float>* m : {static_cast<Seq2SeqModel<float>*>(model.get()),
                                 static_cast<Seq2SeqModel<float>*>(&ensemble)}) {
    const std::vector<std::size_t> all = {0, 1, 2, 3};
    const Batch batch = make_batch(kSources, all);
    for (const DecodeOptions& options :
         {DecodeOptions{}, sampling(1.5, 0, 0.95, 2, 3)}) {
      DecodeOptions o = options;
      o.max_length_extra = 5;
      const auto hyps = decode(*m, batch.source_ids, batch.source_lengths, batch.source_steps, o);
      std::vector<std::vector<Index>> sources, targets;
      std::vector<const Hypothesis*> scored;
      for (std::size_t b = 0; b < all.size(); ++b)
        for (const Hypothesis& h : hyps[b]) {
          sources.push_back(kSources[b].source);
          targets.push_back(h.tokens);
          scored.push_back(&h);
        }
      const auto forced = force_decode_all(*m, sources, targets, 3);
      for (std::size_t j = 0; j < scored.size(); ++j) {
        REQUIRE(forced[j].size() == targets[j].size() + 1);  // the tokens and </s>
        const double all_tokens = std::accumulate(forced[j].begin(), forced[j].end(), 0.0);
        // A hypothesis at the length limit has </s> only if it drew </s> there; otherwise its
        // log_prob lacks that entry.
        uword limit = max_output_length(sources[j].size(), o);
        if (m->max_length() > 0) limit = std::min(limit, m->max_length());
        INFO("hypothesis " << j << " of " << m->describe() << ", " << scored[j]->tokens.size()
                           << " tokens, limit " << limit);
        const double without_eos = all_tokens - forced[j].back();
        const double expected_sum =
            scored[j]->tokens.size() == limit &&
                    std::abs(scored[j]->log_prob - without_eos) < std::abs(scored[j]->log_prob - all_tokens)
                ? without_eos
                : all_tokens;
        CHECK(scored[j]->log_prob == Approx(expected_sum).epsilon(1e-5).margin(1e-6));
      }
    }
  }
}

TEST_CASE("Forced scoring refuses what it cannot score", "[decoding_tools]") {
  auto model = small_model("rnn", 3);
  const std::vector<std::vector<Index>> sources = {{4, 5}};
  CHECK_THROWS_AS(force_decode_all(*model, sources, {}), std::invalid_argument);
  CHECK_THROWS_AS(force_decode_all(*model, sources, {{40}}), std::invalid_argument);
  CHECK_THROWS_AS(force_decode_all(*model, {{}}, {{4}}), std::invalid_argument);
  // An empty target is scored: only </s>.
  const auto only_eos = force_decode_all(*model, sources, {{}});
  REQUIRE(only_eos[0].size() == 1);
  CHECK(only_eos[0][0] < 0.0);
}

namespace {

const char* const kTask =
    "[model]\ncell = gru\nattention = bahdanau\nembed_size = 8\nhidden_size = 16\n"
    "[train]\nseed = 3\nepochs = 0\nmax_steps = 60\nbatch_size = 16\nvalid_every = 0\n"
    "lr = 0.01\n";

// "i ||| text ||| score" lines of translate --nbest
struct Entry {
  std::size_t line;
  std::string text;
  double score;
};

std::vector<Entry> nbest_entries(const std::string& out) {
  static const std::regex entry(R"((\d+) \|\|\| (.*) \|\|\| (\S+))");
  std::vector<Entry> entries;
  std::istringstream in(out);
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, entry))
      entries.push_back({std::stoul(m[1]), m[2], std::stod(m[3])});
  return entries;
}

}  // namespace

TEST_CASE("translate --sample and s2s score-model from the command line", "[decoding_tools]") {
  TempDir dir;
  const std::string config = write_reverse_task(dir, 200, 5, kTask);
  const std::string model = dir.file("m");
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model})
              .exit_code == 0);
  const std::string input = "1 2 3\n4 5\n\n6 7 8 9\n";
  auto translate = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"translate", "--model", model};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args, input);
  };
  const std::vector<std::string> hot = {"--sample", "--temperature", "3", "--nbest", "4"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = hot;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const CliResult a = translate(with({"--seed", "5"}));
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  CHECK(nbest_entries(a.out).size() == 12);  // 4 samples of each of the 3 non-empty lines
  CHECK(translate(with({"--seed", "5"})).out == a.out);
  CHECK(translate(with({"--seed", "5", "--batch-size", "1", "--workers", "2"})).out == a.out);
  CHECK(translate(with({"--seed", "6"})).out != a.out);
  // top-k 1: the greedy output
  CHECK(translate({"--sample", "--top-k", "1", "--seed", "9"}).out ==
        translate({"--beam", "1"}).out);

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--sample", "--temperature", "0"},
        {"--sample", "--top-p", "1.5"}, {"--sample", "--top-k", "-1"},
        {"--sample", "--beam", "3"}}) {
    const CliResult refused = translate(bad);
    INFO(bad[1]);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err_is_one_line());
  }

  // score-model of the beam's n-best entries gives the scores translate printed.
  const CliResult beam = translate({"--beam", "3", "--nbest", "3"});
  REQUIRE(beam.exit_code == 0);
  const std::vector<Entry> entries = nbest_entries(beam.out);
  REQUIRE(entries.size() == 9);
  const std::vector<std::string> sources = {"1 2 3", "4 5", "", "6 7 8 9"};
  std::string src_file, tgt_file;
  for (const Entry& e : entries) {
    src_file += sources[e.line] + "\n";
    tgt_file += e.text + "\n";
  }
  const std::string src = dir.write("nbest.src", src_file), tgt = dir.write("nbest.tgt", tgt_file);
  const CliResult scored = run_cli({"score-model", "--model", model, "--src", src, "--tgt", tgt});
  INFO(scored.err);
  REQUIRE(scored.exit_code == 0);
  CHECK(scored.err.find("scored 9 targets of 9 lines") != std::string::npos);
  static const std::regex log_prob(R"("log_prob": (\S+), "tokens")");
  std::vector<double> forced;
  for (auto it = std::sregex_iterator(scored.out.begin(), scored.out.end(), log_prob);
       it != std::sregex_iterator(); ++it)
    forced.push_back(std::stod((*it)[1]));
  REQUIRE(forced.size() == entries.size());
  for (std::size_t j = 0; j < entries.size(); ++j) {
    INFO("entry " << j << ": " << entries[j].text);
    CHECK(forced[j] == Approx(entries[j].score).epsilon(1e-4).margin(1e-5));
  }
  // An ensemble of the model with itself scores as the model.
  const CliResult twice = run_cli({"score-model", "--model", model, "--model", model, "--src",
                                   src, "--tgt", tgt});
  CHECK(twice.out == scored.out);
  // TAB-separated alternatives are each scored; a TSV source carries its own targets.
  const std::string tsv = dir.write("alt.tsv", "1 2 3\t3 2 1\t1 2 3\n4 5\t5 4\n");
  const CliResult alternatives = run_cli({"score-model", "--model", model, "--src", tsv});
  INFO(alternatives.err);
  REQUIRE(alternatives.exit_code == 0);
  CHECK(alternatives.out.find("{\"line\": 1, \"alternative\": 1, ") != std::string::npos);
  CHECK(alternatives.out.find("\"tokens\": [\"5\", \"4\", \"</s>\"]") != std::string::npos);

  // Unequal line counts: one line, exit 1.
  const std::string short_tgt = dir.write("short.tgt", "1\n");
  const CliResult unequal =
      run_cli({"score-model", "--model", model, "--src", src, "--tgt", short_tgt});
  CHECK(unequal.exit_code == 1);
  CHECK(unequal.err_is_one_line());
  const CliResult no_src = run_cli({"score-model", "--model", model});
  CHECK(no_src.exit_code == 2);
  CHECK(no_src.err_is_one_line());
}

namespace {

// Σ_t of the attention (first layer, heads averaged) that `tokens` receive when forced through
// the model one source at a time; with_eos adds the step that emits </s>.
std::vector<double> forced_coverage(Seq2SeqModel<float>& model, const std::vector<Index>& source,
                                    const std::vector<Index>& tokens, bool with_eos) {
  const Batch batch = make_batch({{source, {4}}}, {0});
  auto state = model.encode(batch.source_ids, batch.source_lengths, batch.source_steps);
  std::vector<double> coverage(source.size(), 0.0);
  Mat<float> log_probs;
  Index prev = Vocab::kBos;
  for (std::size_t t = 0; t < tokens.size() + (with_eos ? 1 : 0); ++t) {
    model.decode_step(*state, {prev}, log_probs);
    const auto attn = model.attention(*state);
    for (const auto& head : attn.weights[0])
      for (std::size_t s = 0; s < source.size(); ++s)
        coverage[s] += double(head(s, 0)) / double(attn.weights[0].size());
    if (t < tokens.size()) prev = tokens[t];
  }
  return coverage;
}

}  // namespace

TEST_CASE("The GNMT coverage penalty adds beta * sum log min(attention received, 1) to the score",
          "[decoding_tools]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  const int beam = GENERATE(1, 3);
  INFO(type << ", beam " << beam);
  auto model = small_model(type, 13);
  // A random model rarely ends: raise </s>'s output bias so most outputs end before the limit.
  for (const ParamEntry& e : model->params().layout().entries())
    if (e.rows == model->target_vocab_size() && e.cols == 1 && e.name.size() > 5 &&
        e.name.compare(e.name.size() - 5, 5, ".bias") == 0)
      model->params().value(model->params().layout().find(e.name))(Vocab::kEos, 0) += 2.0f;
  const std::vector<std::size_t> all = {0, 1, 2, 3};
  const Batch batch = make_batch(kSources, all);
  DecodeOptions options;
  options.beam_size = static_cast<uword>(beam);
  options.nbest = static_cast<uword>(beam);
  options.max_length_extra = 5;
  options.length_penalty = 0.6;
  const auto plain = decode(*model, batch.source_ids, batch.source_lengths, batch.source_steps,
                            options);
  options.coverage_penalty = 0.4;
  const auto covered = decode(*model, batch.source_ids, batch.source_lengths, batch.source_steps,
                              options);
  std::size_t checked = 0;
  for (std::size_t b = 0; b < all.size(); ++b) {
    for (const Hypothesis& h : plain[b])
      CHECK(h.score == Approx(h.log_prob / gnmt_length_penalty(h.tokens.size(), 0.6)));
    for (const Hypothesis& h : covered[b]) {
      const std::vector<Index>& source = kSources[b].source;
      const double base = h.log_prob / gnmt_length_penalty(h.tokens.size(), 0.6);
      const double with_eos =
          base + gnmt_coverage_penalty(forced_coverage(*model, source, h.tokens, true), 0.4);
      const double without_eos =
          base + gnmt_coverage_penalty(forced_coverage(*model, source, h.tokens, false), 0.4);
      INFO("source " << b << ", " << h.tokens.size() << " tokens, score " << h.score);
      if (h.tokens.size() < max_output_length(source.size(), options)) {
        CHECK(h.score == Approx(with_eos).epsilon(1e-4));  // ended by </s>
        ++checked;
      } else {  // at the limit: with </s> only if it was drawn there
        CHECK((h.score == Approx(with_eos).epsilon(1e-4) ||
               h.score == Approx(without_eos).epsilon(1e-4)));
      }
      CHECK(h.score <= base);  // a penalty: min(·, 1) ≤ 1
    }
  }
  CHECK(checked > 0);

  CHECK(gnmt_coverage_penalty({0.5, 2.0, 0.0}, 2.0) ==
        Approx(2.0 * (std::log(0.5) + 0.0 + std::log(1e-10))));
  CHECK(gnmt_coverage_penalty({0.5}, 0.0) == 0.0);

  // A model without attention has no coverage.
  ModelConfig c;
  c.attention = "none";
  c.embed_size = 6;
  c.hidden_size = 8;
  auto plain_rnn = make_model<float>(c, 12, 12);
  Rng rng(1);
  plain_rnn->init(rng);
  CHECK_THROWS_AS(decode(*plain_rnn, batch.source_ids, batch.source_lengths, batch.source_steps,
                         options),
                  std::invalid_argument);
}
