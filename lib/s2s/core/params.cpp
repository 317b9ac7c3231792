#include "s2s/core/params.hpp"

#include <stdexcept>

namespace s2s {

ParamId ParamLayout::add(const std::string& name, uword rows, uword cols) {
  if (name.empty()) throw std::invalid_argument("parameter with an empty name");
  if (by_name_.count(name)) throw std::invalid_argument("duplicate parameter name: " + name);
  ParamEntry entry{name, rows, cols, total_size_};
  total_size_ += entry.size();
  by_name_[name] = entries_.size();
  entries_.push_back(entry);
  return ParamId{entries_.size() - 1};
}

ParamId ParamLayout::find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw std::out_of_range("no parameter named " + name);
  return ParamId{it->second};
}

template <typename Real>
ParameterStore<Real>::ParameterStore(ParamLayout layout)
    : layout_(std::move(layout)),
      value_storage_(layout_.total_size(), Real(0)),
      grad_storage_(layout_.total_size(), Real(0)),
      values_(value_storage_.data(), value_storage_.size(), /*copy_aux_mem=*/false,
              /*strict=*/true),
      grads_(grad_storage_.data(), grad_storage_.size(), false, true) {
  // The only place offsets turn into memory.
  for (const ParamEntry& e : layout_.entries()) {
    value_views_.push_back(std::make_unique<arma::Mat<Real>>(values_.memptr() + e.offset, e.rows,
                                                             e.cols, false, true));
    grad_views_.push_back(std::make_unique<arma::Mat<Real>>(grads_.memptr() + e.offset, e.rows,
                                                            e.cols, false, true));
  }
}

template class ParameterStore<float>;
template class ParameterStore<double>;

}  // namespace s2s
