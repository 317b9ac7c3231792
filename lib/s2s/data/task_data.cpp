#include "s2s/data/task_data.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace s2s {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw std::runtime_error(from + ": cannot open SentencePiece model");
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  if (!out) throw std::runtime_error(to + ": cannot write");
}

// The tokenizer of one side; for spm, trains a model on `lines` (or copies the given one) into
// model_dir/<side>.spm.model.
std::unique_ptr<Tokenizer> make_side_tokenizer(const std::string& kind, const std::string& given,
                                               const std::vector<std::string>* lines,
                                               const DataConfig& config,
                                               const std::string& model_dir,
                                               const std::string& side) {
  TokenizerConfig tc;
  tc.kind = parse_tokenizer_kind(kind);
  if (tc.kind == TokenizerKind::kSpm) {
    tc.spm_model = model_dir + "/" + side + ".spm.model";
    if (lines != nullptr) {
      if (!given.empty()) {
        copy_file(given, tc.spm_model);
      } else {
        SpmTrainConfig sc;
        sc.model_prefix = model_dir + "/" + side + ".spm";
        sc.model_type = config.spm_model_type;
        sc.vocab_size = config.spm_vocab_size;
        tc.spm_model = train_spm(*lines, sc);
      }
    }
  }
  return make_tokenizer(tc);
}

// A reference that tokenizes to something: at least one character other than white space.
bool has_text(const std::string& s) {
  return s.find_first_not_of(" \t\r\n\f\v") != std::string::npos;
}

}  // namespace

std::vector<Index> Codec::encode_source(const std::string& line,
                                        std::vector<std::string>* oovs) const {
  if (!extended) return source_vocab.encode(source_tokenizer->encode(line));
  std::vector<std::string> local;
  std::vector<std::string>& out = oovs != nullptr ? *oovs : local;
  out.clear();
  return source_vocab.extend(source_tokenizer->encode(line), out);
}

std::vector<std::vector<Index>> Codec::encode_sources(
    const std::vector<std::string>& lines, std::vector<std::vector<std::string>>& oovs) const {
  oovs.assign(extended ? lines.size() : 0, {});
  std::vector<std::vector<Index>> ids;
  ids.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i)
    ids.push_back(encode_source(lines[i], extended ? &oovs[i] : nullptr));
  return ids;
}

std::vector<Index> Codec::encode_target(const std::string& line,
                                        const std::vector<std::string>& oovs) const {
  return target_vocab.encode(target_tokenizer->encode(line), oovs);
}

std::string Codec::decode_target(const std::vector<Index>& ids,
                                 const std::vector<std::string>& oovs) const {
  return target_tokenizer->decode(target_vocab.decode(ids, oovs));
}

TrainingData prepare_training_data(const DataConfig& config, const std::string& model_dir,
                                   const PrepareOptions& options) {
  const bool reuse_codec = options.reuse_codec;
  const std::size_t max_length = options.max_length;
  if (config.train.empty()) throw std::runtime_error("data.train is not set");
  const ParallelText text = config.train_tgt.empty()
                                ? read_parallel_tsv(config.train)
                                : read_parallel_files(config.train, config.train_tgt);
  TrainingData data;
  Codec& codec = data.codec;
  if (reuse_codec) {
    codec = load_codec(config, model_dir);
  } else {
    codec.source_tokenizer = make_side_tokenizer(config.src_tokenizer, config.src_spm_model,
                                                 &text.source, config, model_dir, "src");
    codec.target_tokenizer = make_side_tokenizer(config.tgt_tokenizer, config.tgt_spm_model,
                                                 &text.target, config, model_dir, "tgt");
  }
  TokenizedText tokens = tokenize(text, *codec.source_tokenizer, *codec.target_tokenizer);
  LengthFilter filter;
  filter.max_source = static_cast<std::size_t>(config.max_src_len);
  filter.max_target = static_cast<std::size_t>(config.max_tgt_len);
  for (std::size_t i = 0; max_length > 0 && i < tokens.size(); ++i) {
    const std::size_t s = tokens.source[i].size(), t = tokens.target[i].size();
    const bool kept = (filter.max_source == 0 || s <= filter.max_source) &&
                      (filter.max_target == 0 || t <= filter.max_target);
    if (kept && std::max(s, t) > max_length)
      throw std::runtime_error(
          (config.train_tgt.empty() || s > max_length ? config.train : config.train_tgt) + ":" +
          std::to_string(i + 1) + ": " + std::to_string(std::max(s, t)) +
          " tokens, more than the model takes (" + std::to_string(max_length) +
          "); drop such pairs with data.max_src_len / data.max_tgt_len");
  }
  data.train_filter = filter_by_length(tokens, filter);
  if (tokens.size() == 0)
    throw std::runtime_error(config.train + ": no training pair is left after the length filter");
  if (!reuse_codec) {
    TokenCounts src_counts, tgt_counts;
    for (const auto& s : tokens.source) count_tokens(s, src_counts);
    for (const auto& t : tokens.target) count_tokens(t, config.joint_vocab ? src_counts : tgt_counts);
    codec.source_vocab = Vocab::build(src_counts, config.min_freq, config.max_vocab);
    codec.target_vocab = config.joint_vocab
                             ? codec.source_vocab
                             : Vocab::build(tgt_counts, config.min_freq, config.max_vocab);
    codec.source_vocab.save(model_dir + "/src.vocab");
    codec.target_vocab.save(model_dir + "/tgt.vocab");
  }
  codec.extended = options.extended_vocab;
  if (codec.extended && codec.source_vocab.tokens() != codec.target_vocab.tokens())
    throw std::runtime_error(model_dir + ": src.vocab and tgt.vocab differ; model.copy needs one "
                             "vocabulary for both sides (data.joint_vocab=true)");
  data.train = to_ids(tokens, codec.source_vocab, codec.target_vocab, codec.extended);
  if (!config.dev.empty()) {
    const EvalData dev = read_eval_data(
        config.dev, config.dev_tgt.empty() ? std::vector<std::string>{}
                                           : std::vector<std::string>{config.dev_tgt});
    data.dev = make_dev_set(dev, codec, max_length);
  }
  return data;
}

Codec load_codec(const DataConfig& config, const std::string& model_dir, bool extended_vocab) {
  Codec codec;
  codec.extended = extended_vocab;
  codec.source_tokenizer =
      make_side_tokenizer(config.src_tokenizer, "", nullptr, config, model_dir, "src");
  codec.target_tokenizer =
      make_side_tokenizer(config.tgt_tokenizer, "", nullptr, config, model_dir, "tgt");
  codec.source_vocab = Vocab::load(model_dir + "/src.vocab");
  codec.target_vocab = Vocab::load(model_dir + "/tgt.vocab");
  return codec;
}

EvalData read_eval_data(const std::string& source_or_tsv,
                        const std::vector<std::string>& reference_files) {
  EvalData data;
  data.source_path = source_or_tsv;
  const std::vector<std::string> lines = read_text_lines(source_or_tsv);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> fields = split_tabs(lines[i]);
    if (reference_files.empty() && fields.size() < 2)
      throw std::runtime_error(source_or_tsv + ":" + std::to_string(i + 1) +
                               ": no tab between source and reference");
    data.sources.push_back(fields[0]);
    if (reference_files.empty()) {
      std::vector<std::string> alternatives;
      for (std::size_t k = 1; k < fields.size(); ++k)
        if (has_text(fields[k])) alternatives.push_back(fields[k]);
      if (alternatives.empty())
        throw std::runtime_error(source_or_tsv + ":" + std::to_string(i + 1) +
                                 ": empty reference");
      data.references.push_back(std::move(alternatives));
    }
  }
  if (reference_files.empty()) return data;
  std::vector<std::vector<std::string>> sets;
  for (const std::string& path : reference_files) {
    sets.push_back(read_text_lines(path));
    if (sets.back().size() != lines.size())
      throw std::runtime_error(path + " has " + std::to_string(sets.back().size()) +
                               " lines but " + source_or_tsv + " has " +
                               std::to_string(lines.size()));
  }
  try {
    data.references = gather_references(sets, /*split_tabs=*/true);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(reference_files.front() + ": " + e.what());
  }
  for (std::size_t i = 0; i < data.references.size(); ++i) {
    auto& alternatives = data.references[i];
    alternatives.erase(std::remove_if(alternatives.begin(), alternatives.end(),
                                      [](const std::string& r) { return !has_text(r); }),
                       alternatives.end());
    if (alternatives.empty())
      throw std::runtime_error(reference_files.front() + ":" + std::to_string(i + 1) +
                               ": empty reference (in every reference file)");
  }
  return data;
}

DevSet make_dev_set(const EvalData& data, const Codec& codec, std::size_t max_length) {
  DevSet dev;
  dev.references = data.references;
  for (std::size_t i = 0; i < data.sources.size(); ++i) {
    const std::string where = data.source_path + ":" + std::to_string(i + 1) + ": ";
    SequencePair pair;
    std::vector<std::string> oovs;
    pair.source = codec.encode_source(data.sources[i], &oovs);
    pair.target = codec.encode_target(data.references[i].front(), oovs);
    if (codec.extended) dev.source_oovs.push_back(std::move(oovs));
    if (pair.source.empty()) throw std::runtime_error(where + "empty source");
    if (max_length > 0 && std::max(pair.source.size(), pair.target.size()) > max_length)
      throw std::runtime_error(where + std::to_string(std::max(pair.source.size(),
                                                               pair.target.size())) +
                               " tokens, more than the model takes (" +
                               std::to_string(max_length) + ")");
    dev.pairs.push_back(std::move(pair));
  }
  return dev;
}

void check_source_lengths(const EvalData& data, const Codec& codec, std::size_t max_length) {
  for (std::size_t i = 0; max_length > 0 && i < data.sources.size(); ++i) {
    const std::size_t n = codec.encode_source(data.sources[i]).size();
    if (n > max_length)
      throw std::runtime_error(data.source_path + ":" + std::to_string(i + 1) + ": the source has " +
                               std::to_string(n) + " tokens, more than the model takes (" +
                               std::to_string(max_length) + ")");
  }
}

}  // namespace s2s
