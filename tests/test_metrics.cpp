// Evaluation metrics against values sacreBLEU itself computes. Vectors are copied from the
// sacreBLEU repository (github.com/mjpost/sacrebleu); each group names its source file. The G2P,
// WER and tokenizer cases are worked by hand in the comments.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "s2s/metrics/bleu.hpp"
#include "s2s/metrics/chrf.hpp"
#include "s2s/metrics/edit_metrics.hpp"
#include "s2s/metrics/metrics.hpp"

using namespace s2s;

namespace {

// One reference set -> SegmentRefs.
SegmentRefs single_set(const std::vector<std::string>& refs) { return gather_references({refs}); }

std::string two_decimals(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

// sacreBLEU README / test/test_bleu.py: the two reference sets and the system output.
const std::vector<std::vector<std::string>> kReadmeRefSets = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
};
const std::vector<std::string> kReadmeHyps = {"The dog bit the man.", "It wasn't surprising.",
                                              "The man had just bitten him."};

// compat.raw_corpus_bleu: no tokenization, floor smoothing, effective order.
BleuConfig raw_bleu_config(double floor_value) {
  BleuConfig config;
  config.tokenize = BleuTokenize::kNone;
  config.smooth = BleuSmooth::kFloor;
  config.smooth_value = floor_value;
  config.effective_order = true;
  return config;
}

ChrfConfig chrf_beta3(bool eps_smoothing, bool whitespace = false) {
  ChrfConfig config;
  config.beta = 3;
  config.eps_smoothing = eps_smoothing;
  config.whitespace = whitespace;
  return config;
}

}  // namespace

TEST_CASE("python_split and python_rstrip use Python's whitespace set", "[metrics]") {
  std::vector<std::string_view> words;
  // U+00A0 no-break space, U+3000 ideographic space, U+2009 thin space, \x1f unit separator;
  // U+200B (zero width space) is not whitespace in Python.
  python_split(
      " a\xC2\xA0"
      "b\xE3\x80\x80"
      "c\xE2\x80\x89"
      "d\x1f"
      "e\xE2\x80\x8B"
      "f\t\n",
      words);
  REQUIRE(words.size() == 5);
  CHECK(words[0] == "a");
  CHECK(words[1] == "b");
  CHECK(words[2] == "c");
  CHECK(words[3] == "d");
  CHECK(words[4] ==
        "e\xE2\x80\x8B"
        "f");
  CHECK(python_rstrip("x y \xC2\x85\t\r\n") == "x y");
  CHECK(python_rstrip(" \xE2\x80\xA8") == "");
  CHECK(is_python_space(U'\u2028'));
  CHECK_FALSE(is_python_space(U'\u200B'));
}

TEST_CASE("13a tokenizer follows the mteval-v13a regexes", "[metrics]") {
  // ',' after a letter is split, '!' is in the punctuation class.
  CHECK(tokenize_13a("Hello, world!") == "Hello , world !");
  // The apostrophe (0x27) is not in the class, so "wasn't" stays one token (README: 17 tokens).
  CHECK(tokenize_13a("It wasn't surprising.") == "It wasn't surprising .");
  // Period/comma between digits stay; dash after a digit is split, after a letter it is not.
  CHECK(tokenize_13a("3.14 and 1,000 items-5 x 5-3") == "3.14 and 1,000 items-5 x 5 - 3");
  // " .5 " -> ([^0-9])([\.,]) matches " ." -> "  . 5 " -> ". 5".
  CHECK(tokenize_13a(".5") == ". 5");
  CHECK(tokenize_13a("a.b,c") == "a . b , c");
  // Entities are unescaped one after the other, so "&amp;lt;" becomes "<".
  CHECK(tokenize_13a("&quot;hi&quot; &amp;lt;b&gt;") == "\" hi \" < b >");
  CHECK(tokenize_13a("<skipped>x foo-\nbar a\nb") == "x foobar a b");
  // rstrip first: the trailing "-\n" is whitespace-stripped to "-", which stays.
  CHECK(tokenize_13a("end-\n") == "end-");
  CHECK(tokenize_13a("Grüße, Welt\xC2\xA0!") == "Grüße , Welt !");
  CHECK(tokenize_13a("  \t ") == "");
  // ([\.,])([^0-9]) splits a period or comma that follows a digit: "2015." and "3,a".
  CHECK(tokenize_13a("in 2015. Then 3,a") == "in 2015 . Then 3 , a");
}

TEST_CASE("BLEU matches the sacreBLEU README example", "[metrics]") {
  // README.md and test/test_bleu.py (test_corpus_bleu_cases): default BLEU = 48.530827; the
  // statistics are those sacreBLEU returns for it (quoted in HuggingFace datasets' sacrebleu
  // metric docs: counts [14, 7, 5, 3], totals [17, 14, 11, 8], bp 0.9428731438548749).
  const SegmentRefs refs = gather_references(kReadmeRefSets);
  const BleuScore bleu = corpus_bleu(kReadmeHyps, refs);
  CHECK(bleu.score == Approx(48.530827).margin(1e-6));
  CHECK(bleu.counts == std::vector<long long>{14, 7, 5, 3});
  CHECK(bleu.totals == std::vector<long long>{17, 14, 11, 8});
  CHECK(bleu.precisions[0] == Approx(82.3529411764706).epsilon(1e-14));
  CHECK(bleu.precisions[2] == Approx(45.45454545454545).epsilon(1e-14));
  CHECK(bleu.bp == Approx(0.9428731438548749).epsilon(1e-14));
  CHECK(bleu.sys_len == 17);
  CHECK(bleu.ref_len == 18);
  CHECK(bleu.format() ==
        "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  CHECK(bleu_signature(BleuConfig{}, count_references(refs)) ==
        "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp");

  // test_corpus_bleu_cases: empty hypotheses are kept and give 0; tokenize 'none' 49.1919566;
  // smoothing 'none' 48.530827 (every order has a match).
  CHECK(corpus_bleu({"", "", ""}, refs).score == 0.0);
  BleuConfig no_tok;
  no_tok.tokenize = BleuTokenize::kNone;
  CHECK(corpus_bleu(kReadmeHyps, refs, no_tok).score == Approx(49.1919566).margin(1e-6));
  BleuConfig no_smooth;
  no_smooth.smooth = BleuSmooth::kNone;
  CHECK(corpus_bleu(kReadmeHyps, refs, no_smooth).score == Approx(48.530827).margin(1e-6));

  // test_bleu_max_order.
  const std::vector<std::string> by_order = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuConfig config;
    config.max_ngram_order = order;
    CHECK(two_decimals(corpus_bleu(kReadmeHyps, refs, config).score) == by_order[order - 1]);
  }
}

TEST_CASE("BLEU drops empty references like sacreBLEU (variable number of references)",
          "[metrics]") {
  // README.md, "Variable Number of References": the first segment's first reference is ''.
  auto sets = kReadmeRefSets;
  sets[0][0] = "";
  const SegmentRefs refs = gather_references(sets);
  CHECK(refs[0].size() == 1);
  CHECK(count_references(refs) == -1);
  const BleuScore bleu = corpus_bleu(kReadmeHyps, refs);
  CHECK(bleu.format() ==
        "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  CHECK(bleu_signature(BleuConfig{}, count_references(refs)) ==
        "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp");
  // sacreBLEU raises "Empty or `None` reference sentence found." when nothing is left.
  sets[1][0] = "";
  CHECK_THROWS_AS(gather_references(sets), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu(kReadmeHyps, SegmentRefs{{""}, {"a"}, {"b"}}), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu(kReadmeHyps, single_set({"a", "b"})), std::invalid_argument);
}

TEST_CASE("BLEU raw-corpus, statistics and smoothing cases of sacreBLEU's tests", "[metrics]") {
  // test/test_bleu.py: test_raw_bleu_cases (raw_corpus_bleu with floor 0.01; score / 100).
  CHECK(corpus_bleu({"this is a test", "another test"}, single_set({"ref1", "ref2"}),
                    raw_bleu_config(0.01))
            .score == 0.0);
  CHECK(
      corpus_bleu({"this is a test"}, single_set({"this is a test"}), raw_bleu_config(0.01)).score /
          100 ==
      Approx(1.0).margin(1e-8));
  CHECK(
      corpus_bleu({"this is a fest"}, single_set({"this is a test"}), raw_bleu_config(0.01)).score /
          100 ==
      Approx(0.223606797749979).margin(1e-8));

  // test_case_effective_order.
  CHECK(corpus_bleu({"test"}, single_set({"a test"}), raw_bleu_config(0.01)).score / 100 ==
        Approx(0.3678794411714425).margin(1e-8));
  CHECK(corpus_bleu({"a test"}, single_set({"a test"}), raw_bleu_config(0.01)).score / 100 ==
        Approx(1.0).margin(1e-8));
  CHECK(corpus_bleu({"a little test"}, single_set({"a test"}), raw_bleu_config(0.01)).score / 100 ==
        Approx(0.03218297948685433).margin(1e-8));

  // test_case_statistics and test_case_offset: floor 0.1 (the default) and 0.
  const std::vector<std::string> hyp = {"am I am a character sequence"};
  const SegmentRefs ref = single_set({"I am a symbol string sequence a a"});
  const BleuScore with_offset = corpus_bleu(hyp, ref, raw_bleu_config(-1));
  CHECK(with_offset.counts == std::vector<long long>{4, 2, 1, 0});
  CHECK(with_offset.totals == std::vector<long long>{6, 5, 4, 3});
  CHECK(with_offset.score / 100 == Approx(0.1555722182).margin(1e-8));
  CHECK(corpus_bleu(hyp, ref, raw_bleu_config(0.0)).score == 0.0);

  // test_case_scoring: compute_bleu's own default is smooth_method='none'.
  BleuConfig none;
  none.smooth = BleuSmooth::kNone;
  CHECK(compute_bleu({{9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11}, none).score / 100 ==
        Approx(0.8375922397).margin(1e-8));

  // test_case_degenerate_stats: floor smoothing with the given value, all exactly 0.
  struct Degenerate {
    BleuStats stats;
    double floor;
  };
  const std::vector<Degenerate> degenerate = {
      {{{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1}, 0.0}, {{{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10}, 0.0},
      {{{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0}, 0.0}, {{{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6}, 0.0},
      {{{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0}, 0.1}, {{{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5}, 0.01}};
  for (const auto& d : degenerate) {
    BleuConfig floor;
    floor.smooth = BleuSmooth::kFloor;
    floor.smooth_value = d.floor;
    CHECK(compute_bleu(d.stats, floor).score == 0.0);
  }
}

TEST_CASE("sentence BLEU with each smoothing method matches sacreBLEU", "[metrics]") {
  // test/test_sentence_bleu.py (example from sacreBLEU issue #98), effective order on,
  // EPSILON = 1e-3. The reference has U+0163 (t-cedilla), the hypothesis U+021B (t-comma).
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys =
      "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  struct Case {
    BleuSmooth smooth;
    double value;
    BleuTokenize tokenize;
    double expected;
  };
  const std::vector<Case> cases = {
      {BleuSmooth::kExp, -1, BleuTokenize::k13a, 8.493},
      {BleuSmooth::kNone, -1, BleuTokenize::k13a, 0.0},
      {BleuSmooth::kFloor, -1, BleuTokenize::k13a, 4.51688},
      {BleuSmooth::kFloor, 0.1, BleuTokenize::k13a, 4.51688},
      {BleuSmooth::kFloor, 0.5, BleuTokenize::k13a, 10.10},
      {BleuSmooth::kAddK, -1, BleuTokenize::k13a, 14.882},
      {BleuSmooth::kAddK, 1, BleuTokenize::k13a, 14.882},
      {BleuSmooth::kAddK, 2, BleuTokenize::k13a, 21.389},
      {BleuSmooth::kExp, -1, BleuTokenize::kNone, 7.347},
  };
  for (const auto& c : cases) {
    BleuConfig config;
    config.smooth = c.smooth;
    config.smooth_value = c.value;
    config.tokenize = c.tokenize;
    config.effective_order = true;
    CHECK(sentence_bleu(sys, {ref}, config).score == Approx(c.expected).margin(1e-3));
    // test_cases_zero_bleu (issue #141): no match at all gives 0 whatever the smoothing.
    CHECK(sentence_bleu("this is a cat", {"okay thanks"}, config).score == 0.0);
  }
}

TEST_CASE("BleuAccumulator streams the same statistics as corpus_bleu", "[metrics]") {
  const SegmentRefs refs = gather_references(kReadmeRefSets);
  BleuAccumulator accumulator;
  for (std::size_t i = 0; i < kReadmeHyps.size(); ++i) accumulator.add(kReadmeHyps[i], refs[i]);
  const BleuScore streamed = accumulator.score();
  const BleuScore batch = corpus_bleu(kReadmeHyps, refs);
  CHECK(streamed.score == batch.score);
  CHECK(streamed.counts == batch.counts);
  // Closest reference length, ties to the shorter (BLEU._get_closest_ref_len): a 5-token
  // hypothesis against 6- and 4-token references uses 4, so BP = 1, in either order.
  for (const auto& pair : {std::vector<std::string>{"a b c d e f", "a b c d"},
                           std::vector<std::string>{"a b c d", "a b c d e f"}}) {
    const BleuScore tie = sentence_bleu("a b c d e", pair);
    CHECK(tie.ref_len == 4);
    CHECK(tie.bp == 1.0);
  }
  // Reference order does not matter (max over references, closest length).
  SegmentRefs swapped = refs;
  for (auto& alternatives : swapped) std::swap(alternatives[0], alternatives[1]);
  CHECK(corpus_bleu(kReadmeHyps, swapped).score == batch.score);
}

TEST_CASE("chrF matches sacreBLEU's test_chrf.py", "[metrics]") {
  // test/test_chrf.py: test_cases (beta 3, eps smoothing), EPSILON = 1e-4.
  struct Case {
    std::vector<std::string> hyps, refs;
    double expected;
  };
  const std::vector<Case> eps_cases = {
      {{"abcdefg"}, {"hijklmnop"}, 0.0},
      {{"a"}, {"b"}, 0.0},
      {{""}, {"b"}, 0.0},
      {{""}, {"ref"}, 0.0},
      {{""}, {"reference"}, 0.0},
      {{"aa"}, {"ab"}, 8.3333},
      {{"a", "b"}, {"a", "c"}, 8.3333},
      {{"a"}, {"a"}, 16.6667},
      {{"a b c"}, {"a b c"}, 50.0},
      {{"a b c"}, {"abc"}, 50.0},
      {{" risk assessment must be made of those who are qualified and expertise in the sector - "
        "these are the scientists ."},
       {"risk assessment has to be undertaken by those who are qualified and expert in that area "
        "- that is the scientists ."},
       63.361730},
      {{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
       {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
       64.1302698},
      {{"Niemand hat die Absicht, eine Mauer zu errichten"},
       {"Niemand hat die Absicht, eine Mauer zu errichten"},
       100.0},
  };
  for (const auto& c : eps_cases) {
    CHECK(corpus_chrf(c.hyps, single_set(c.refs), chrf_beta3(true)).score ==
          Approx(c.expected).margin(1e-4));
  }

  // test_cases_effective_order (sacreBLEU < 2.0.0 mode, the 2.x default), beta 3.
  const std::vector<Case> effective_cases = {
      {{"a"}, {"a"}, 100.0},       {{""}, {"reference"}, 0.0}, {{"a b c"}, {"a b c"}, 100.0},
      {{"a b c"}, {"abc"}, 100.0}, {{""}, {"c"}, 0.0},         {{"a", "b"}, {"a", "c"}, 50.0},
      {{"aa"}, {"ab"}, 25.0},
  };
  for (const auto& c : effective_cases) {
    CHECK(corpus_chrf(c.hyps, single_set(c.refs), chrf_beta3(false)).score ==
          Approx(c.expected).margin(1e-4));
  }

  // test_cases_keep_whitespace (remove_whitespace=False), beta 3.
  CHECK(corpus_chrf({"Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."},
                    single_set({"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade "
                                "freundschaftlich."}),
                    chrf_beta3(false, true))
            .score == Approx(67.3481606).margin(1e-4));
  CHECK(corpus_chrf({"risk assessment must be made of those who are qualified and expertise in "
                     "the sector - these are the scientists ."},
                    single_set({"risk assessment has to be undertaken by those who are qualified "
                                "and expert in that area - that is the scientists ."}),
                    chrf_beta3(false, true))
            .score == Approx(65.2414427).margin(1e-4));

  // test_sentence_level_chrf: sentence_chrf(eps_smoothing=True), beta 2.
  ChrfConfig eps;
  eps.eps_smoothing = true;
  CHECK(sentence_chrf("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                      {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a "
                       "kdo zemře."},
                      eps)
            .score == Approx(39.14078509).margin(1e-4));
  CHECK(sentence_chrf(
            "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
            {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, eps)
            .score == Approx(31.22557079).margin(1e-4));
  CHECK(sentence_chrf("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                      {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl "
                       "začít, připomněli."},
                      eps)
            .score == Approx(57.15704367).margin(1e-4));
}

TEST_CASE("chrF counts no hypothesis n-grams of an order the reference lacks", "[metrics]") {
  // CHRF._get_match_statistics returns `hyp_count if ref_ngrams else 0`. Worked by hand:
  //   "abc" vs "a":  n=1 {hyp 3, ref 1, match 1}; n=2,3 {0, 0, 0} (the reference has none)
  //   "xy"  vs "xy": n=1 {2, 2, 2};               n=2   {1, 1, 1}
  //   corpus n=1 {5, 3, 3}, n=2 {1, 1, 1}; effective orders 1, 2:
  //   P = (3/5 + 1)/2 = 0.8, R = (1 + 1)/2 = 1, chrF2 = 100 · 5 · 0.8 / (4 · 0.8 + 1) = 400/4.2.
  // Counting the 2 + 1 bigrams of "abc" would give P = (3/5 + 1/3)/2 and 81.40 instead.
  const ChrfScore chrf = corpus_chrf({"abc", "xy"}, single_set({"a", "xy"}));
  CHECK(chrf.score == Approx(400.0 / 4.2).epsilon(1e-12));
}

TEST_CASE("chrF with two reference sets matches the sacreBLEU README", "[metrics]") {
  // README.md: CHRF().corpus_score(sys, refs) -> "chrF2 = 59.73" (best reference per segment).
  const SegmentRefs refs = gather_references(kReadmeRefSets);
  const ChrfScore chrf = corpus_chrf(kReadmeHyps, refs);
  CHECK(chrf.format() == "chrF2 = 59.73");
  CHECK(chrf_signature(ChrfConfig{}, 2) == "nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no");
  // Picking the best reference can only help: each single set scores lower or equal.
  for (const auto& set : kReadmeRefSets) {
    CHECK(corpus_chrf(kReadmeHyps, single_set(set)).score <= chrf.score);
  }
  CHECK_THROWS_AS(corpus_chrf({"a\xFF"}, single_set({"a"})), std::invalid_argument);
}

TEST_CASE("Levenshtein distance", "[metrics]") {
  const std::string kitten = "kitten", sitting = "sitting";
  std::vector<std::size_t> row;
  CHECK(levenshtein(kitten.data(), kitten.size(), sitting.data(), sitting.size(), row) == 3);
  CHECK(levenshtein(sitting.data(), sitting.size(), kitten.data(), kitten.size(), row) == 3);
  CHECK(levenshtein(kitten.data(), 0, sitting.data(), sitting.size(), row) == 7);
  CHECK(levenshtein(kitten.data(), kitten.size(), sitting.data(), 0, row) == 6);
  CHECK(levenshtein(std::vector<int>{1, 2, 3, 4}, std::vector<int>{2, 3, 4, 1}) == 2);
  CHECK(levenshtein(std::vector<std::string>{"AH", "B"}, std::vector<std::string>{"AH", "B"}) == 0);
}

TEST_CASE("G2P PER/WER pick the closest reference per word, as Sequitur does", "[metrics]") {
  // Word (hypothesis)   alternatives               edits  chosen        |ref|
  // cat  K AE T         K AE T | K AH T            0      K AE T        3
  // dog  D AO G         D AO G Z | D AA G          1      D AA G (tie)  3
  //      tie at 1 edit: Sequitur sorts (errors, reference) so the smaller sequence wins,
  //      ("D","AA","G") < ("D","AO","G","Z"); taking the other would make |ref| = 4.
  // sit  S IH T         S IY T IH NG | S IH T S    3 | 1  S IH T S      4
  // tree T R IY         T R IY Z                   1      T R IY Z      4
  // a    (empty)        AH                         1      AH            1
  // PER = 100 · (0+1+1+1+1) / (3+3+4+4+1) = 400/15 = 26.666...
  // WER = 100 · 4/5 = 80, accuracy = 20.
  const std::vector<std::string> lines = {"K AE T\tK AH T", "D AO G Z\tD AA G",
                                          "S IY T IH NG\tS IH T S", "T R IY Z", "AH"};
  const SegmentRefs refs = gather_references({lines}, /*split_tabs=*/true);
  REQUIRE(refs[1].size() == 2);
  const std::vector<std::string> hyps = {"K AE T", "D AO G", "S IH T", "T R IY", ""};
  std::vector<G2pWordResult> details;
  const G2pScore score = g2p_score(hyps, refs, &details);
  CHECK(score.symbol_errors == 4);
  CHECK(score.ref_symbols == 15);
  CHECK(score.per == Approx(400.0 / 15.0).epsilon(1e-12));
  CHECK(score.words == 5);
  CHECK(score.word_errors == 4);
  CHECK(score.wer == Approx(80.0));
  CHECK(score.accuracy == Approx(20.0));
  CHECK(exact_match_accuracy(hyps, refs) == Approx(20.0));
  CHECK(details[1].best_ref == 1);
  CHECK(details[1].ref_length == 3);
  CHECK(details[2].best_ref == 1);
  CHECK(details[2].edits == 1);

  // Alternatives may also come from several reference files; extra whitespace is ignored.
  const SegmentRefs from_sets =
      gather_references({{"K AE T", "D AO G Z"}, {"K AH T", " D  AA G "}});
  const G2pScore two = g2p_score({"K AH T", "D AO G"}, from_sets);
  CHECK(two.symbol_errors == 1);
  CHECK(two.ref_symbols == 6);
  CHECK(two.wer == Approx(50.0));
  CHECK_THROWS_AS(g2p_score({"A"}, SegmentRefs{{""}}), std::invalid_argument);
}

TEST_CASE("corpus WER sums word edits over reference words", "[metrics]") {
  // "the cat sat" vs "the cat sat down": 1 deletion; "a b c d" vs "a x c": 1 sub + 1 extra word.
  // WER = 100 · 3 / 7.
  const WerScore wer = corpus_wer({"the cat sat", "a b c d"}, {"the cat sat down", "a x c"});
  CHECK(wer.edits == 3);
  CHECK(wer.ref_words == 7);
  CHECK(wer.wer == Approx(300.0 / 7.0).epsilon(1e-12));
  CHECK(corpus_wer({""}, {""}).wer == 0.0);
  CHECK(std::isinf(corpus_wer({"x"}, {""}).wer));
  CHECK_THROWS_AS(corpus_wer({"a"}, {}), std::invalid_argument);
}

TEST_CASE("reference readers", "[metrics]") {
  std::istringstream in("first line\nsecond\r\n\nlast");
  const auto lines = read_lines(in);
  CHECK(lines == std::vector<std::string>{"first line", "second\r", "", "last"});
  CHECK_THROWS_AS(gather_references({{"a", "b"}, {"c"}}), std::invalid_argument);
  const SegmentRefs refs = gather_references({{"a\t\tb", "c"}}, true);
  CHECK(refs[0] == std::vector<std::string>{"a", "b"});
  CHECK(refs[1] == std::vector<std::string>{"c"});
  CHECK(count_references(refs) == -1);
}

namespace {

// The textbook O(n·m) dynamic programme, as the reference for the fast levenshtein().
std::size_t full_levenshtein(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
  return d[a.size()][b.size()];
}

}  // namespace

TEST_CASE("levenshtein equals the full dynamic programme on random and near-identical pairs",
          "[metrics]") {
  std::mt19937 rng(5);
  std::vector<std::size_t> row;
  for (int trial = 0; trial < 3000; ++trial) {
    // Short pairs over small alphabets (many ties and repeats), and edited copies of a line.
    const int alphabet = 2 + trial % 5;
    std::vector<int> a(rng() % 30), b;
    for (int& x : a) x = static_cast<int>(rng() % alphabet);
    if (trial % 2 == 0) {
      b.resize(rng() % 30);
      for (int& x : b) x = static_cast<int>(rng() % alphabet);
    } else {
      b = a;
      for (int edit = static_cast<int>(rng() % 6); edit > 0; --edit) {
        const std::size_t at = b.empty() ? 0 : rng() % (b.size() + 1);
        switch (rng() % 3) {
          case 0: b.insert(b.begin() + static_cast<long>(at), static_cast<int>(rng() % alphabet)); break;
          case 1: if (at < b.size()) b.erase(b.begin() + static_cast<long>(at)); break;
          default: if (at < b.size()) b[at] = static_cast<int>(rng() % alphabet);
        }
      }
    }
    INFO("trial " << trial);
    REQUIRE(levenshtein(a.data(), a.size(), b.data(), b.size(), row) == full_levenshtein(a, b));
  }
  // A long line with a few edits (the case that was quadratic): exact.
  std::vector<int> longer(200000);
  for (std::size_t i = 0; i < longer.size(); ++i) longer[i] = static_cast<int>(i % 97);
  std::vector<int> edited = longer;
  edited[1000] = -1;
  edited.erase(edited.begin() + 150000);
  edited.insert(edited.begin() + 5, 7);
  CHECK(levenshtein(longer.data(), longer.size(), edited.data(), edited.size(), row) == 3);
}
