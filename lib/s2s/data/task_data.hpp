#pragma once
// From a DataConfig to what training and evaluation consume: tokenizers, vocabularies and id
// sequences. Everything a trained model needs to read new text is written into its model
// directory, so the directory alone is enough to translate:
//   DIR/src.vocab, DIR/tgt.vocab          vocabularies (vocab.hpp format)
//   DIR/src.spm.model, DIR/tgt.spm.model  SentencePiece models, for spm tokenizers
#include <memory>
#include <string>
#include <vector>

#include "s2s/core/config.hpp"
#include "s2s/data/parallel_data.hpp"
#include "s2s/data/tokenizer.hpp"
#include "s2s/data/vocab.hpp"
#include "s2s/metrics/metrics.hpp"

namespace s2s {

// The text <-> ids mapping of both sides. With `extended` (model.copy, one vocabulary for both
// sides), ids are in each source sentence's extended vocabulary (Vocab::extend): encode_source
// returns the source's tokens outside the vocabulary in *oovs, and encode_target and
// decode_target take them, so that a target token outside the vocabulary that the source has
// keeps its identity. Without `extended`, oovs stays empty and is not read.
struct Codec {
  Vocab source_vocab, target_vocab;
  std::unique_ptr<Tokenizer> source_tokenizer, target_tokenizer;
  bool extended = false;

  std::vector<Index> encode_source(const std::string& line,
                                   std::vector<std::string>* oovs = nullptr) const;
  // encode_source of every line; oovs gets one list per line when extended, else is emptied
  // (translate()'s source_oovs either way).
  std::vector<std::vector<Index>> encode_sources(
      const std::vector<std::string>& lines, std::vector<std::vector<std::string>>& oovs) const;
  std::vector<Index> encode_target(const std::string& line,
                                   const std::vector<std::string>& oovs = {}) const;
  std::string decode_target(const std::vector<Index>& ids,
                            const std::vector<std::string>& oovs = {}) const;
};

struct TrainingData {
  Codec codec;
  std::vector<SequencePair> train;
  FilterStats train_filter;
  DevSet dev;  // empty when config.dev is not set
};

// Reads the training data, trains or copies SentencePiece models, builds the vocabularies from
// the training data, writes them into model_dir, and maps train and dev to ids. With
// reuse_codec (a resumed run) the codec already in model_dir is loaded instead. With
// max_length > 0 (the model's, model_max_length()), a training pair that the length filter
// keeps, or a dev pair, with a longer side is refused with its file and line.
// With extended_vocab (model.copy), the ids are in the extended vocabularies (Codec::extended).
struct PrepareOptions {
  bool reuse_codec = false;
  std::size_t max_length = 0;
  bool extended_vocab = false;
};
TrainingData prepare_training_data(const DataConfig& config, const std::string& model_dir,
                                   const PrepareOptions& options = {});

// Loads the codec that prepare_training_data wrote into model_dir.
Codec load_codec(const DataConfig& config, const std::string& model_dir,
                 bool extended_vocab = false);

// An evaluation set: sources and, per source, its alternative references.
//   * one file: TSV lines "source<TAB>ref1[<TAB>ref2 ...]"
//   * a source file and reference files: every reference file is a reference set (line i is a
//     reference of source i); a line may also hold TAB-separated alternatives (G2P .ref files).
//     The source file may be a TSV: its first column is the source (sources never hold tabs).
// Every segment has at least one reference with a non-space character: a file:line error
// otherwise, at load (the metrics would fail on it only when they run).
struct EvalData {
  std::vector<std::string> sources;
  SegmentRefs references;
  std::string source_path;  // for messages: "PATH:LINE: ..."
};
EvalData read_eval_data(const std::string& source_or_tsv,
                        const std::vector<std::string>& reference_files);

// Dev set for the trainer: ids of the sources and first references, and all references. With
// max_length > 0, a source or first reference longer than that is refused with its line.
DevSet make_dev_set(const EvalData& data, const Codec& codec, std::size_t max_length = 0);

// Throws "PATH:LINE: the source has N tokens, more than the model takes (M)" for the first
// source longer than max_length (0: no limit).
void check_source_lengths(const EvalData& data, const Codec& codec, std::size_t max_length);

}  // namespace s2s
