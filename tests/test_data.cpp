#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "s2s/data/batching.hpp"
#include "s2s/data/parallel_data.hpp"
#include "s2s/data/synthetic.hpp"
#include "s2s/data/tokenizer.hpp"
#include "s2s/data/vocab.hpp"
#include "file_helpers.hpp"

using namespace s2s;
using s2s::testing::error_message;
using s2s::testing::TempDir;

namespace {

// n pairs with source length 1 + i % 7 and target length 1 + (3 i) % 5, ids >= 4.
std::vector<SequencePair> make_pairs(std::size_t n) {
  std::vector<SequencePair> pairs(n);
  for (std::size_t i = 0; i < n; ++i) {
    pairs[i].source.assign(1 + i % 7, static_cast<Index>(4 + i % 11));
    pairs[i].target.assign(1 + (3 * i) % 5, static_cast<Index>(5 + i % 13));
  }
  return pairs;
}

}  // namespace

// ---------------------------------------------------------------------------------- vocabulary

TEST_CASE("Vocab keeps frequent tokens, ties in token order, specials first", "[data][vocab]") {
  const TokenCounts counts = {{"b", 3}, {"a", 3}, {"c", 5}, {"d", 1}, {"<unk>", 9}, {"", 4}};
  const Vocab vocab = Vocab::build(counts, /*min_freq=*/2);
  CHECK(vocab.tokens() == std::vector<std::string>{"<pad>", "<unk>", "<s>", "</s>", "c", "a", "b"});
  CHECK(vocab.id("c") == 4);
  CHECK(vocab.id("d") == Vocab::kUnk);
  CHECK(vocab.token(5) == "a");
  CHECK_THROWS_AS(vocab.token(7), std::out_of_range);
  CHECK(vocab.encode({"a", "zzz", "b"}) == std::vector<Index>{5, Vocab::kUnk, 6});
  CHECK(vocab.decode({Vocab::kBos, 5, Vocab::kUnk, 6, Vocab::kEos, Vocab::kPad}) ==
        std::vector<std::string>{"a", "<unk>", "b"});
  CHECK(vocab.decode({Vocab::kBos, 5}, /*strip_specials=*/false) ==
        std::vector<std::string>{"<s>", "a"});

  CHECK(Vocab::build(counts, 1, /*max_size=*/2).tokens().back() == "a");
  CHECK(Vocab::build(counts, 1, 2).size() == 6);
  CHECK(Vocab::build(counts, 1).size() == 8);  // "" and "<unk>" never become tokens
  CHECK(Vocab().size() == 4);

  TokenCounts counted;
  count_tokens({"x", "y", "x"}, counted);
  count_tokens({"x"}, counted);
  CHECK(counted == TokenCounts{{"x", 3}, {"y", 1}});
}

TEST_CASE("Vocab saves and loads as one token per line", "[data][vocab]") {
  TempDir dir;
  const Vocab vocab = Vocab::build({{"\xE2\x96\x81", 4}, {"\xC3\xA9", 2}, {"z", 7}});
  vocab.save(dir.file("vocab.txt"));
  const Vocab loaded = Vocab::load(dir.file("vocab.txt"));
  CHECK(loaded.tokens() == vocab.tokens());
  CHECK(loaded.id("\xC3\xA9") == 6);

  const std::string missing = dir.file("missing.txt");
  CHECK(error_message([&] { Vocab::load(missing); }) == missing + ": cannot open vocabulary file");
  const std::string bad = dir.write("bad.txt", "<pad>\n<s>\n");
  CHECK(error_message([&] { Vocab::load(bad); }) ==
        bad + ":2: expected special token <unk>, found '<s>'");
  const std::string duplicate = dir.write("dup.txt", "<pad>\n<unk>\n<s>\n</s>\na\nb\na\n");
  CHECK(error_message([&] { Vocab::load(duplicate); }) == duplicate + ":7: duplicate token 'a'");
  const std::string short_file = dir.write("short.txt", "<pad>\n<unk>\n");
  CHECK_THROWS_WITH(Vocab::load(short_file), Catch::Contains("needs at least the 4 special"));
}

TEST_CASE("The extended vocabulary numbers a source's unknown tokens after the vocabulary",
          "[data][vocab]") {
  const Vocab vocab = Vocab::build({{"a", 3}, {"b", 2}});  // a = 4, b = 5, size 6
  std::vector<std::string> oovs;
  const std::vector<Index> source = vocab.extend({"x", "a", "y", "x", "b"}, oovs);
  CHECK(source == std::vector<Index>{6, 4, 7, 6, 5});
  CHECK(oovs == std::vector<std::string>{"x", "y"});
  // A target's unknown token takes its source token's id; one the source lacks is <unk>.
  CHECK(vocab.encode({"y", "z", "a", "x"}, oovs) == std::vector<Index>{7, Vocab::kUnk, 4, 6});
  CHECK(vocab.decode({7, Vocab::kUnk, 4, 6, Vocab::kEos}, oovs) ==
        std::vector<std::string>{"y", "<unk>", "a", "x"});
  CHECK_THROWS_AS(vocab.decode({8}, oovs), std::out_of_range);
  // Without extended ids, the plain mapping.
  CHECK(vocab.encode({"y", "a"}, {}) == vocab.encode({"y", "a"}));
  const TokenizedText text{{{"x", "a"}}, {{"a", "x", "z"}}};
  const auto pairs = to_ids(text, vocab, vocab, true);
  CHECK(pairs[0].source == std::vector<Index>{6, 4});
  CHECK(pairs[0].target == std::vector<Index>{4, 6, Vocab::kUnk});
  CHECK(to_ids(text, vocab, vocab)[0].source == std::vector<Index>{Vocab::kUnk, 4});
}

TEST_CASE("Vocab files with tokens no tokenizer writes are refused with their line",
          "[data][vocab]") {
  TempDir dir;
  const std::string head = "<pad>\n<unk>\n<s>\n</s>\na\n";
  struct Case {
    std::string tail, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"b c\n", ":6: token holds white space or a control character (byte 32)"},
           {"b\r\n", ":6: token holds white space or a control character (byte 13)"},
           {std::string("b\0c\n", 4), ":6: token holds white space or a control character (byte 0)"},
           {"\xC3\x28\n", ":6: invalid UTF-8"}}) {
    const std::string path = dir.write("vocab.txt", head + c.tail);
    const std::string message = error_message([&] { Vocab::load(path); });
    INFO(message);
    CHECK(message.rfind(path + c.expected, 0) == 0);
  }
}

// ---------------------------------------------------------------------------------- readers

TEST_CASE("A UTF-8 byte-order mark at the start of a data file is not text", "[data][reader]") {
  TempDir dir;
  const std::string tsv = dir.write("bom.tsv", "\xEF\xBB\xBF" "5 6\t6 5\n7\t7\n");
  const ParallelText text = read_parallel_tsv(tsv);
  CHECK(text.source == std::vector<std::string>{"5 6", "7"});  // was "\ufeff5 6"
  const std::string src = dir.write("src.txt", "\xEF\xBB\xBF" "a\n");
  CHECK(read_parallel_files(src, dir.write("tgt.txt", "b\n")).source.front() == "a");
}

TEST_CASE("Parallel readers read two files or one TSV, stripping line ends", "[data][reader]") {
  TempDir dir;
  const std::string src = dir.write("src.txt", "a b\r\nc\n\xC3\xA9 d");
  const std::string tgt = dir.write("tgt.txt", "x\ny y\nz\n");
  const ParallelText text = read_parallel_files(src, tgt);
  CHECK(text.source == std::vector<std::string>{"a b", "c", "\xC3\xA9 d"});
  CHECK(text.target == std::vector<std::string>{"x", "y y", "z"});

  const std::string tsv = dir.file("pairs.tsv");
  write_parallel_tsv(tsv, text);
  const ParallelText back = read_parallel_tsv(tsv);
  CHECK(back.source == text.source);
  CHECK(back.target == text.target);
  const ParallelText crlf = read_parallel_tsv(dir.write("crlf.tsv", "a\tb\r\n\tc\r\n"));
  CHECK(crlf.source == std::vector<std::string>{"a", ""});
  CHECK(crlf.target == std::vector<std::string>{"b", "c"});
  CHECK_THROWS_WITH(write_parallel_tsv(dir.file("x.tsv"), {{"a\tb"}, {"c"}}),
                    dir.file("x.tsv") + ":1: a source or target contains a tab or line break");
}

TEST_CASE("Parallel readers name the file and line of every error", "[data][reader]") {
  TempDir dir;
  const std::string ten = dir.write("src.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  const std::string nine = dir.write("tgt.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n");
  const std::string empty = dir.write("empty.txt", "");
  const std::string missing = dir.file("missing.txt");

  CHECK(error_message([&] { read_parallel_files(ten, nine); }) ==
        ten + " has 10 lines but " + nine + " has 9");
  CHECK(error_message([&] { read_parallel_files(missing, nine); }) == missing + ": no such file");
  CHECK(error_message([&] { read_parallel_files(ten, empty); }) == empty + ": file is empty");
  CHECK(error_message([&] { read_parallel_tsv(dir.file("")); }) ==
        dir.file("") + ": is a directory, not a file");

  const std::string no_tab = dir.write("no_tab.tsv", "a\tb\nno tab here\nc\td\n");
  CHECK(error_message([&] { read_parallel_tsv(no_tab); }) ==
        no_tab + ":2: no tab between source and target");
  const std::string two_tabs = dir.write("two_tabs.tsv", "a\tb\tc\n");
  CHECK(error_message([&] { read_parallel_tsv(two_tabs); }) ==
        two_tabs + ":1: more than one tab (expected source<TAB>target)");
  const std::string bad_utf8 = dir.write("bad.tsv", "a\tb\nok\tb\xC3\n");
  CHECK(error_message([&] { read_parallel_tsv(bad_utf8); }) ==
        bad_utf8 + ":2: invalid UTF-8 at byte 4");
  const std::string bad_src = dir.write("bad_src.txt", "fine\nfine\n\xE2\x28\xA1\n");
  CHECK(error_message([&] { read_parallel_files(bad_src, nine); }) ==
        bad_src + ":3: invalid UTF-8 at byte 0");
}

TEST_CASE("Length filter drops long and empty pairs and counts them", "[data][reader]") {
  ParallelText text;
  text.source = {"a b", "a b c d", "", "a", "a b c"};
  text.target = {"x", "x", "x", "x y z w", "x y"};
  const SpaceTokenizer space;
  TokenizedText tokens = tokenize(text, space, space);
  const FilterStats stats = filter_by_length(tokens, {/*max_source=*/3, /*max_target=*/3});
  CHECK(stats.kept == 2);
  CHECK(stats.dropped_too_long == 2);
  CHECK(stats.dropped_empty == 1);
  CHECK(stats.dropped() == 3);
  CHECK(tokens.source == std::vector<std::vector<std::string>>{{"a", "b"}, {"a", "b", "c"}});
  CHECK(tokens.target == std::vector<std::vector<std::string>>{{"x"}, {"x", "y"}});

  TokenCounts counts;
  for (const auto& line : tokens.target) count_tokens(line, counts);
  const Vocab vocab = Vocab::build(counts);  // x=4, y=5
  const auto pairs = to_ids(tokens, vocab, vocab);
  CHECK(pairs[1].source == std::vector<Index>{Vocab::kUnk, Vocab::kUnk, Vocab::kUnk});
  CHECK(pairs[1].target == std::vector<Index>{4, 5});

  TokenizedText unlimited = tokenize(text, space, space);
  CHECK(filter_by_length(unlimited, {}).kept == 4);
}

// ---------------------------------------------------------------------------------- batching

TEST_CASE("make_batch lays out padded time-major ids with <s> and </s>", "[data][batching]") {
  const std::vector<SequencePair> data = {{{7, 8, 9}, {10}}, {{11}, {12, 13, 14}}};
  const Batch batch = make_batch(data, {1, 0});
  constexpr Index P = Vocab::kPad, S = Vocab::kBos, E = Vocab::kEos;
  CHECK(batch.size == 2);
  CHECK(batch.source_steps == 3);
  CHECK(batch.target_steps == 4);
  // column t·B + b: sequence b = (pair 1, pair 0)
  CHECK(batch.source_ids == std::vector<Index>{11, 7, P, 8, P, 9});
  CHECK(batch.target_input_ids == std::vector<Index>{S, S, 12, 10, 13, P, 14, P});
  CHECK(batch.target_output_ids == std::vector<Index>{12, 10, 13, E, 14, P, E, P});
  CHECK(batch.source_lengths == std::vector<uword>{1, 3});
  CHECK(batch.target_lengths == std::vector<uword>{4, 2});
  CHECK(batch.indices == std::vector<std::size_t>{1, 0});
  CHECK(batch.source_tokens() == 4);
  CHECK(batch.target_tokens() == 6);

  const Batch with_eos = make_batch(data, {0, 1}, /*source_eos=*/true);
  CHECK(with_eos.source_ids == std::vector<Index>{7, 11, 8, E, 9, P, E, P});
  CHECK(with_eos.source_lengths == std::vector<uword>{4, 2});
}

TEST_CASE("Epoch plans are deterministic, reshuffled per epoch, cover every pair once",
          "[data][batching]") {
  const auto data = make_pairs(1000);
  BatchingConfig config;
  config.batch_size = 16;
  config.pool_size = 200;
  const auto plan = plan_epoch(data, config, /*seed=*/42, /*epoch=*/0);
  CHECK(plan == plan_epoch(data, config, 42, 0));
  CHECK(plan != plan_epoch(data, config, 42, 1));
  CHECK(plan != plan_epoch(data, config, 43, 0));

  for (std::uint64_t epoch : {0, 1, 7}) {
    std::vector<std::size_t> seen;
    for (const auto& batch : plan_epoch(data, config, 42, epoch)) {
      CHECK(batch.size() <= 16);
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<std::size_t> all(data.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    CHECK(seen == all);
  }
  // Pools are sorted, so batches are nearly uniform in source length.
  std::size_t spread = 0;
  for (const auto& batch : plan) {
    std::size_t lo = 100, hi = 0;
    for (std::size_t i : batch) {
      lo = std::min(lo, data[i].source.size());
      hi = std::max(hi, data[i].source.size());
    }
    spread += hi - lo;
  }
  CHECK(spread < plan.size());  // most batches hold a single source length

  BatchingConfig ordered = config;
  ordered.shuffle = false;
  ordered.sort_by_length = false;
  const auto in_order = plan_epoch(data, ordered, 1, 0);
  CHECK(in_order.size() == 5 * 13);  // 5 pools of 200 pairs, 13 batches each
  CHECK(in_order[0] == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  CHECK(in_order == plan_epoch(data, ordered, 2, 5));
}

TEST_CASE("Token-based batches stay within the token budget", "[data][batching]") {
  auto data = make_pairs(500);
  data[17].source.assign(90, 4);  // alone over the budget: a batch of its own
  BatchingConfig config;
  config.unit = BatchUnit::kTokens;
  config.batch_size = 60;
  config.pool_size = 100;
  const auto plan = plan_epoch(data, config, 3, 0);
  std::size_t total = 0;
  for (const auto& indices : plan) {
    const Batch batch = make_batch(data, indices);
    const std::size_t cells = batch.size * std::max(batch.source_steps, batch.target_steps);
    if (indices == std::vector<std::size_t>{17}) {
      CHECK(cells == 90);
    } else {
      CHECK(cells <= 60);
    }
    total += indices.size();
  }
  CHECK(total == 500);
  CHECK(parse_batch_unit("tokens") == BatchUnit::kTokens);
  CHECK_THROWS_WITH(parse_batch_unit("words"),
                    "Unknown batch unit: words. Valid options: sentences, tokens");
}

TEST_CASE("BatchStream resumes exactly from (seed, epoch, position)", "[data][batching]") {
  const auto data = make_pairs(300);
  BatchingConfig config;
  config.batch_size = 10;
  config.pool_size = 50;
  BatchStream stream(data, config, 9);
  stream.seek(2);
  Batch batch;
  std::vector<std::vector<std::size_t>> first_run;
  BatchCursor cursor;
  while (stream.next(batch)) {
    first_run.push_back(batch.indices);
    if (first_run.size() == 11) cursor = stream.cursor();
  }
  CHECK(first_run == plan_epoch(data, config, 9, 2));
  CHECK(cursor.epoch == 2);
  CHECK(cursor.position == 11);

  BatchStream resumed(data, config, 9);
  resumed.seek(cursor);
  std::vector<std::vector<std::size_t>> rest;
  while (resumed.next(batch)) rest.push_back(batch.indices);
  CHECK(rest == std::vector<std::vector<std::size_t>>(first_run.begin() + 11, first_run.end()));
  CHECK_THROWS_AS(resumed.seek(BatchCursor{8, 2, 0}), std::invalid_argument);
  CHECK_THROWS_AS(resumed.seek(2, first_run.size() + 1), std::invalid_argument);
}

// ---------------------------------------------------------------------------------- synthetic

TEST_CASE("Dates render in natural formats and normalise to ISO", "[data][synthetic]") {
  const Date date{1999, 3, 3};
  CHECK(iso_date(date) == "1999-03-03");
  CHECK(render_date(date, DateFormat::kMonthOrdinalYear) == "march 3rd, 1999");
  CHECK(render_date(date, DateFormat::kDayMonthYear) == "3 march 1999");
  CHECK(render_date(date, DateFormat::kSlashMonthDayYear) == "03/03/1999");
  CHECK(render_date(date, DateFormat::kAbbrevMonthDayYear) == "mar 3 1999");
  CHECK(render_date(date, DateFormat::kMonthDayYear) == "march 3, 1999");
  CHECK(render_date(date, DateFormat::kOrdinalOfMonthYear) == "the 3rd of march 1999");
  CHECK(render_date(date, DateFormat::kWeekdayMonthDayYear) == "wednesday, march 3, 1999");
  CHECK(render_date(date, DateFormat::kDotDayMonthYear) == "03.03.1999");
  CHECK(render_date({2012, 11, 21}, DateFormat::kMonthOrdinalYear) == "november 21st, 2012");
  CHECK(render_date({2012, 11, 12}, DateFormat::kOrdinalOfMonthYear) == "the 12th of november 2012");
  CHECK(render_date({2000, 2, 29}, DateFormat::kWeekdayMonthDayYear) == "tuesday, february 29, 2000");
  CHECK(render_date({1901, 12, 22}, DateFormat::kSlashMonthDayYear) == "12/22/1901");
  CHECK(day_of_week({1970, 1, 1}) == 4);
  CHECK(day_of_week({1900, 1, 1}) == 1);
  CHECK(days_in_month(1900, 2) == 28);
  CHECK(days_in_month(2000, 2) == 29);
  CHECK_THROWS_AS(render_date({1999, 2, 29}, DateFormat::kDayMonthYear), std::invalid_argument);
}

TEST_CASE("Date task pairs every rendering with its ISO date", "[data][synthetic]") {
  SyntheticConfig config;
  config.task = SyntheticTask::kDate;
  config.count = 2000;
  config.seed = 11;
  const ParallelText text = generate_synthetic(config);
  REQUIRE(text.size() == 2000);
  std::set<std::string> formats_seen;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string& iso = text.target[i];
    REQUIRE(iso.size() == 10);
    const Date date{std::stoi(iso.substr(0, 4)), std::stoi(iso.substr(5, 2)),
                    std::stoi(iso.substr(8, 2))};
    CHECK(date.year >= 1900);
    CHECK(date.year <= 2099);
    bool matched = false;
    for (int f = 0; f < kNumDateFormats; ++f)
      if (render_date(date, static_cast<DateFormat>(f)) == text.source[i]) {
        matched = true;
        formats_seen.insert(std::to_string(f));
      }
    CHECK(matched);
  }
  CHECK(formats_seen.size() == kNumDateFormats);
  CHECK(generate_synthetic(config).source == text.source);
}

TEST_CASE("Sequence tasks: reverse is reversed, sort is sorted, copy is copied",
          "[data][synthetic]") {
  const SpaceTokenizer space;
  SyntheticConfig config;
  config.count = 300;
  config.seed = 4;
  for (SyntheticTask task : {SyntheticTask::kReverse, SyntheticTask::kCopy, SyntheticTask::kSort}) {
    config.task = task;
    const ParallelText text = generate_synthetic(config);
    REQUIRE(text.size() == 300);
    std::size_t longest = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      auto source = space.encode(text.source[i]);
      const auto target = space.encode(text.target[i]);
      REQUIRE(!source.empty());
      longest = std::max(longest, source.size());
      CHECK(source.size() <= 25);
      for (const auto& token : source) {
        CHECK(std::stoi(token) >= 0);
        CHECK(std::stoi(token) <= 49);
      }
      if (task == SyntheticTask::kReverse) std::reverse(source.begin(), source.end());
      if (task == SyntheticTask::kSort)
        std::sort(source.begin(), source.end(),
                  [](const auto& a, const auto& b) { return std::stoi(a) < std::stoi(b); });
      CHECK(target == source);
    }
    CHECK(longest == 25);
  }
  config.task = SyntheticTask::kReverse;
  const ParallelText a = generate_synthetic(config);
  CHECK(a.source == generate_synthetic(config).source);
  config.seed = 5;
  CHECK(a.source != generate_synthetic(config).source);

  const SyntheticConfig train = reverse_benchmark("train"), test = reverse_benchmark("test");
  CHECK(train.count == 50000);
  CHECK(train.max_length == 25);
  CHECK(test.max_length == 30);
  CHECK(test.seed != train.seed);
  CHECK(parse_synthetic_task("sort") == SyntheticTask::kSort);
  CHECK_THROWS_WITH(parse_synthetic_task("add"),
                    "Unknown task: add. Valid options: reverse, copy, sort, date");
}
