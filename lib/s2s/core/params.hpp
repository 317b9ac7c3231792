#pragma once
// Parameters: two flat buffers (values, gradients) with the same layout, and one layout table.
//
// A model is built in two phases:
//   1. Every layer adds its parameters to a ParamLayout under hierarchical names
//      ("encoder.layer0.fwd.weight_ih") and keeps the ParamId it gets back.
//   2. A ParameterStore is made from the finished layout. It allocates the two buffers once and
//      builds, from the layout table alone, a value view and a gradient view per parameter.
// Layers read store.value(id) in forward and add into store.grad(id) in backward. Optimizers,
// gradient clipping, checkpoints and all-reduce see only values() and grads(). The names are the
// checkpoint keys. A store is neither copyable nor movable, so no view can dangle.
#include <armadillo>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace s2s {

using arma::uword;

struct ParamId {
  uword index = static_cast<uword>(-1);
};

struct ParamEntry {
  std::string name;
  uword rows = 0;
  uword cols = 0;
  uword offset = 0;  // into the flat buffers
  uword size() const { return rows * cols; }
};

class ParamLayout {
 public:
  // Appends a (rows × cols) parameter. Throws std::invalid_argument on a duplicate or empty name.
  ParamId add(const std::string& name, uword rows, uword cols);

  const std::vector<ParamEntry>& entries() const { return entries_; }
  const ParamEntry& entry(ParamId id) const { return entries_.at(id.index); }
  // Throws std::out_of_range with the name if absent.
  ParamId find(const std::string& name) const;
  bool contains(const std::string& name) const { return by_name_.count(name) != 0; }
  uword total_size() const { return total_size_; }

 private:
  std::vector<ParamEntry> entries_;
  std::unordered_map<std::string, uword> by_name_;
  uword total_size_ = 0;
};

template <typename Real>
class ParameterStore {
 public:
  explicit ParameterStore(ParamLayout layout);
  ParameterStore(const ParameterStore&) = delete;
  ParameterStore& operator=(const ParameterStore&) = delete;
  ParameterStore(ParameterStore&&) = delete;
  ParameterStore& operator=(ParameterStore&&) = delete;

  arma::Mat<Real>& value(ParamId id) { return *value_views_.at(id.index); }
  const arma::Mat<Real>& value(ParamId id) const { return *value_views_.at(id.index); }
  arma::Mat<Real>& grad(ParamId id) { return *grad_views_.at(id.index); }
  const arma::Mat<Real>& grad(ParamId id) const { return *grad_views_.at(id.index); }

  // The flat buffers (total_size × 1), same layout. They are fixed-size views of storage the
  // store owns: assigning (even moving) a vector of the same size copies into the buffer, so the
  // per-parameter views never dangle. Never assign one of another size (Armadillo refuses it
  // only in debug builds).
  arma::Col<Real>& values() { return values_; }
  const arma::Col<Real>& values() const { return values_; }
  arma::Col<Real>& grads() { return grads_; }
  const arma::Col<Real>& grads() const { return grads_; }

  void zero_grad() { grads_.zeros(); }
  const ParamLayout& layout() const { return layout_; }
  uword size() const { return layout_.total_size(); }

 private:
  ParamLayout layout_;
  std::vector<Real> value_storage_, grad_storage_;
  arma::Col<Real> values_;  // strict views of the storage
  arma::Col<Real> grads_;
  // unique_ptr: the view objects themselves never move once built.
  std::vector<std::unique_ptr<arma::Mat<Real>>> value_views_;
  std::vector<std::unique_ptr<arma::Mat<Real>>> grad_views_;
};

}  // namespace s2s
