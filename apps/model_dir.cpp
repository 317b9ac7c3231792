#include "model_dir.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "commands.hpp"
#include "config_schema.hpp"
#include "output_file.hpp"
#include "s2s/core/json.hpp"
#include "s2s/core/version.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/training/param_io.hpp"
#include "s2s/training/trainer.hpp"

namespace s2s::app {

namespace {

std::string major_minor(const std::string& version) {
  const auto first = version.find('.');
  const auto second = version.find('.', first + 1);
  return version.substr(0, second);
}

Provenance provenance_from_tree(const boost::property_tree::ptree& tree) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [key, child] : tree) fields.emplace_back(key, child.data());
  return provenance_from_text(fields);
}

}  // namespace

const Provenance& ModelRecord::latest() const {
  return resumes.empty() ? provenance : resumes.back().second;
}

std::string ModelRecord::json() const {
  std::string out = "{\"model\": " + json_string(description) +
                    ", \"parameters\": " + std::to_string(parameters) +
                    ",\n \"provenance\": " + provenance.json();
  if (!resumes.empty()) {
    out += ",\n \"resumes\": [";
    for (std::size_t i = 0; i < resumes.size(); ++i)
      out += std::string(i ? ",\n  " : "") + "{\"step\": " + std::to_string(resumes[i].first) +
             ", \"provenance\": " + resumes[i].second.json() + "}";
    out += "]";
  }
  return out + "}\n";
}

void write_model_record(const ModelRecord& record, const std::string& dir) {
  write_file_atomically(dir + "/model.json", record.json());
}

std::optional<ModelRecord> read_model_record(const std::string& dir) {
  const std::string path = dir + "/model.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  boost::property_tree::ptree tree;
  try {
    std::istringstream in(read_text_file(path));
    boost::property_tree::read_json(in, tree);
    const auto provenance = tree.get_child_optional("provenance");
    if (!provenance) return std::nullopt;
    ModelRecord record;
    record.description = tree.get<std::string>("model");
    record.parameters = tree.get<std::size_t>("parameters");
    record.provenance = provenance_from_tree(*provenance);
    if (const auto resumes = tree.get_child_optional("resumes"))
      for (const auto& [unused, entry] : *resumes)
        record.resumes.emplace_back(entry.get<long>("step"),
                                    provenance_from_tree(entry.get_child("provenance")));
    return record;
  } catch (const boost::property_tree::ptree_error& e) {
    throw std::runtime_error(path + ": not a model description (" + e.what() + ")");
  }
}

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names = {
      "config.ini",    "src.vocab",      "tgt.vocab",      "src.spm.model",   "src.spm.vocab",
      "tgt.spm.model", "tgt.spm.vocab",  "model.json",     "train_log.jsonl", "last.ckpt",
      "best.ckpt",     "test_hyps.txt",  "test_metrics.json", "average.ckpt"};
  return names;
}

void remove_stale_temporaries(const std::string& dir) {
  remove_dead_temporaries(dir, run_file_names());
}

void remove_run_files(const std::string& dir) {
  std::vector<std::string> names = run_file_names();
  for (const auto& [step, path] : validation_checkpoints(dir))
    names.push_back(std::filesystem::path(path).filename().string());
  for (const std::string& name : names) {
    std::error_code error;
    std::filesystem::remove(dir + "/" + name, error);
    if (error) throw std::runtime_error(dir + "/" + name + ": cannot remove: " + error.message());
  }
  remove_stale_temporaries(dir);
}

void check_checkpoint_name(const std::string& name, const std::string& option) {
  bool ok = !name.empty() && name.size() <= 100 && name[0] != '.';
  for (const char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw UsageError(option + " '" + name +
                     "': a checkpoint name (best, last, average, step-N), not a path");
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void check_checkpoint_version(const Checkpoint& checkpoint, const std::string& path) {
  if (major_minor(checkpoint.library_version) != major_minor(kVersion))
    throw std::runtime_error(path + ": written by s2s " + checkpoint.library_version +
                             ", this is s2s " + kVersion +
                             " (checkpoints are compatible within a major.minor version)");
}

void add_vocabulary_digests(const std::string& dir, std::map<std::string, std::string>& texts) {
  for (const char* side : {"src", "tgt"})
    texts[std::string(side) + ".vocab.digest"] =
        content_digest(read_text_file(dir + "/" + side + ".vocab"));
}

void check_vocabulary_digests(const Checkpoint& checkpoint, const std::string& dir,
                              const std::string& checkpoint_path) {
  for (const char* side : {"src", "tgt"}) {
    const auto recorded = checkpoint.texts.find(std::string(side) + ".vocab.digest");
    if (recorded == checkpoint.texts.end()) continue;
    const std::string path = dir + "/" + side + ".vocab";
    if (content_digest(read_text_file(path)) != recorded->second)
      throw std::runtime_error(path + ": does not match the vocabulary " + checkpoint_path +
                               " was trained with (the file was damaged or replaced)");
  }
}

LoadedModel load_model_dir(const std::string& dir, const std::string& which) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": no such model directory");
  const std::string config_path = dir + "/config.ini";
  if (!fs::exists(config_path))
    throw std::runtime_error(dir + ": not a model directory (no config.ini)");
  LoadedModel loaded;
  loaded.config = parse_config_text(read_text_file(config_path), config_path);
  check_checkpoint_name(which, "--checkpoint");
  loaded.checkpoint_path = dir + "/" + which + ".ckpt";
  if (which == "best" && !fs::exists(loaded.checkpoint_path))
    loaded.checkpoint_path = dir + "/last.ckpt";
  if (!fs::exists(loaded.checkpoint_path))
    throw std::runtime_error(which == "best" || which == "last"
                                 ? dir + ": no checkpoint (best.ckpt or last.ckpt)"
                                 : loaded.checkpoint_path + ": no such checkpoint (best, last, "
                                   "average after s2s average, step-N with train.keep_checkpoints)");
  loaded.codec = load_codec(loaded.config.data, dir, loaded.config.model.copy);
  const Checkpoint checkpoint = load_checkpoint(loaded.checkpoint_path);
  check_checkpoint_version(checkpoint, loaded.checkpoint_path);
  check_vocabulary_digests(checkpoint, dir, loaded.checkpoint_path);
  loaded.model = make_model<float>(loaded.config.model, loaded.codec.source_vocab.size(),
                                   loaded.codec.target_vocab.size());
  try {
    load_parameters(checkpoint, loaded.model->params());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(loaded.checkpoint_path + ": " + e.what());
  }
  return loaded;
}

DecodingModels load_decoding_models(const std::vector<std::string>& dirs,
                                    const std::string& which, const std::vector<double>& weights) {
  if (dirs.empty()) throw UsageError("--model DIR is required");
  if (!weights.empty() && weights.size() != dirs.size())
    throw UsageError("--weight given " + std::to_string(weights.size()) + " times for " +
                     std::to_string(dirs.size()) + " --model directories: give one per model");
  for (double w : weights)
    if (!std::isfinite(w) || w <= 0)
      throw UsageError("--weight " + std::to_string(w) + ": an ensemble weight must be > 0");
  DecodingModels models;
  for (const std::string& dir : dirs) models.members.push_back(load_model_dir(dir, which));
  if (dirs.size() == 1) return models;
  // The members must map text to the same ids and back.
  const DataConfig& first = models.config().data;
  for (std::size_t k = 1; k < dirs.size(); ++k) {
    const DataConfig& data = models.members[k].config.data;
    if (models.members[k].config.model.copy != models.config().model.copy)
      throw std::runtime_error(dirs[k] + ": model.copy=" +
                               (models.config().model.copy ? "false" : "true") + ", " + dirs[0] +
                               " the opposite: an ensemble's models must all copy or none "
                               "(they read the source ids differently)");
    if (data.src_tokenizer != first.src_tokenizer || data.tgt_tokenizer != first.tgt_tokenizer)
      throw std::runtime_error(dirs[k] + ": tokenizes with " + data.src_tokenizer + " -> " +
                               data.tgt_tokenizer + ", " + dirs[0] + " with " +
                               first.src_tokenizer + " -> " + first.tgt_tokenizer +
                               ": an ensemble's models must share their vocabularies");
    for (const char* file : {"src.vocab", "tgt.vocab", "src.spm.model", "tgt.spm.model"}) {
      const std::string a = dirs[0] + "/" + file, b = dirs[k] + "/" + file;
      if (!std::filesystem::exists(a) && !std::filesystem::exists(b)) continue;
      if (!std::filesystem::exists(a) || !std::filesystem::exists(b) ||
          read_text_file(a) != read_text_file(b))
        throw std::runtime_error(b + ": differs from " + a +
                                 ": an ensemble's models must share their vocabularies");
    }
  }
  std::vector<Seq2SeqModel<float>*> members;
  for (LoadedModel& m : models.members) members.push_back(m.model.get());
  models.ensemble = std::make_unique<EnsembleModel>(std::move(members), weights);
  return models;
}

void ModelFlags::add_to(boost::program_options::options_description& opts) {
  namespace po = boost::program_options;
  opts.add_options()
      ("model", po::value<std::vector<std::string>>(&dirs), "model directory written by s2s train; repeat for an ensemble that averages the models' log-probabilities at each step (same vocabularies; the first model's decode settings)")
      ("weight", po::value<std::vector<double>>(&weights), "an ensemble member's weight, one per --model in their order (> 0, normalised to sum 1; default: all equal)")
      ("checkpoint", po::value<std::string>(&which)->default_value("best"), "best | last | average (s2s average) | step-N (train.keep_checkpoints)");
}

DecodingModels ModelFlags::load() const { return load_decoding_models(dirs, which, weights); }

}  // namespace s2s::app
