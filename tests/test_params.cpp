#include <catch2/catch.hpp>

#include "s2s/core/params.hpp"

using namespace s2s;

TEST_CASE("Parameter views are built from the layout table over two flat buffers", "[params]") {
  ParamLayout layout;
  const ParamId a = layout.add("enc.a", 2, 3);
  const ParamId b = layout.add("enc.b", 4, 1);
  CHECK(layout.entry(b).offset == 6);
  CHECK(layout.total_size() == 10);
  CHECK_THROWS_WITH(layout.add("enc.a", 1, 1), Catch::Contains("duplicate parameter name: enc.a"));
  CHECK_THROWS_WITH(layout.find("enc.c"), Catch::Contains("no parameter named enc.c"));
  ParameterStore<float> store(std::move(layout));
  store.value(a)(1, 2) = 5.0f;  // column-major: flat index 1 + 2·2 = 5
  store.grad(b)(3) = 7.0f;      // offset 6 + 3
  CHECK(store.values()(5) == 5.0f);
  CHECK(store.grads()(9) == 7.0f);
  store.zero_grad();
  CHECK(store.grad(b)(3) == 0.0f);
}

TEST_CASE("Assigning to the flat buffers never detaches the parameter views", "[params]") {
  ParamLayout layout;
  const ParamId a = layout.add("w", 2, 2);
  ParameterStore<double> store(std::move(layout));
  store.values() = arma::vec{1, 2, 3, 4};               // a temporary: moved, must still copy
  store.values() = arma::conv_to<arma::vec>::from(arma::fvec{5, 6, 7, 8});
  CHECK(store.value(a)(1, 1) == 8.0);
  store.values() *= 2.0;
  CHECK(store.value(a)(0, 0) == 10.0);
}
