// The Transformer: multi-head attention (closed form, masks, gradients), the feed-forward block,
// encoder and decoder layers, and the whole model (gradients, incremental decoding, beam search).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "gradcheck.hpp"
#include "s2s/attention/multi_head_attention.hpp"
#include "s2s/core/config.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/layers/feed_forward.hpp"
#include "s2s/layers/positional_encoding.hpp"
#include "s2s/layers/relative_position_bias.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/models/transformer_layers.hpp"
#include "s2s/models/transformer_seq2seq.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

// Every parameter U(−bound, bound): nonzero biases and unit layer-norm gains included.
void randomise(ParameterStore<double>& store, std::uint64_t seed, double bound = 0.8) {
  Rng rng(seed);
  rng.fill_uniform(store.values(), -bound, bound);
}

// check_parameter_gradients (gradcheck.hpp), except for the key biases b_k: they add q_t·b_k to
// every score of query t, which the softmax ignores, so ∂L/∂b_k is exactly 0 in exact arithmetic
// and a relative error is meaningless; both gradients must be (roundoff-)zero instead.
void check_gradients(ParameterStore<double>& store, const std::function<double()>& loss,
                     double eps = 1e-6) {
  const arma::vec analytic = store.grads();
  const std::string key_bias = ".k_proj.bias";
  for (const ParamEntry& e : store.layout().entries()) {
    arma::mat& value = store.value(store.layout().find(e.name));
    const arma::mat numeric = numeric_gradient(value, loss, eps);
    const arma::mat a(const_cast<double*>(analytic.memptr()) + e.offset, e.rows, e.cols, false,
                      true);
    const bool is_key_bias = e.name.size() >= key_bias.size() &&
                             e.name.compare(e.name.size() - key_bias.size(), std::string::npos,
                                            key_bias) == 0;
    const double err = relative_error(a, numeric);
    INFO("parameter " << e.name << " relative error " << err << " |analytic| "
                      << arma::norm(arma::vectorise(a)) << " |numeric| "
                      << arma::norm(arma::vectorise(numeric)));
    if (is_key_bias) {
      CHECK(arma::norm(arma::vectorise(a)) < 1e-12);
      CHECK(arma::norm(arma::vectorise(numeric)) < 1e-8);
    } else {
      CHECK(err <= kGradTolerance);
    }
  }
}

// Columns of real queries sum to 1; masked entries (padded keys, future keys when causal, every
// entry of a padded query) are exactly 0. weights (S × T·H·B) in head blocks.
void check_weight_masks(const arma::mat& weights, uword heads, uword batch, uword steps,
                        const std::vector<uword>& query_lengths,
                        const std::vector<uword>& key_lengths, bool causal) {
  for (uword h = 0; h < heads; ++h)
    for (uword b = 0; b < batch; ++b)
      for (uword t = 0; t < steps; ++t) {
        const arma::vec column = weights.col((h * batch + b) * steps + t);
        const bool real = t < query_lengths[b];
        const uword end = !real ? 0 : causal ? std::min(t + 1, key_lengths[b]) : key_lengths[b];
        INFO("head " << h << " sequence " << b << " query " << t);
        if (real) CHECK(arma::accu(column) == Approx(1.0).epsilon(1e-12));
        for (uword j = end; j < weights.n_rows; ++j) CHECK(column(j) == 0.0);
        for (uword j = 0; j < end; ++j) CHECK(column(j) > 0.0);
      }
}

// A padded batch of 3 pairs with unequal source and target lengths over a vocabulary of 7.
Batch tiny_batch() {
  std::vector<SequencePair> pairs = {
      {{4, 5, 6, 4}, {5, 6}}, {{6, 5}, {4, 4, 6, 5}}, {{5, 4, 6}, {6}}};
  return make_batch(pairs, {0, 1, 2});
}

ModelConfig tiny_config(const std::string& norm) {
  ModelConfig c;
  c.type = "transformer";
  c.d_model = 4;
  c.heads = 2;
  c.ff_size = 6;
  c.transformer_layers = 2;
  c.norm = norm;
  c.dropout = 0.0;
  c.embed_dropout = 0.0;
  c.attention_dropout = 0.0;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Multi-head attention

TEST_CASE("Multi-head attention forward matches a hand-computed case", "[transformer]") {
  // D = 2, H = 2: each head is a 1-d attention (d_h = 1, no scaling) with identity projections.
  ParamLayout layout;
  MultiHeadAttention<double> mha(layout, "attn", 2, 2, 0.0);
  ParameterStore<double> store(std::move(layout));
  for (const char* proj : {"attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj"}) {
    store.value(store.layout().find(std::string(proj) + ".weight")) = arma::eye(2, 2);
    store.value(store.layout().find(std::string(proj) + ".bias")).zeros();
  }
  store.value(store.layout().find("attn.out_proj.bias")) = arma::vec{0.25, -0.5};
  const arma::mat x = {{1.0, 2.0}, {0.5, -1.0}};             // queries t = 0, 1 (B = 1)
  const arma::mat m = {{1.0, 0.0, -1.0}, {2.0, 1.0, 0.0}};   // memory, position 2 is padding
  MhaMemory<double> memory;
  mha.project_memory(store, m, {2}, 3, memory);
  MhaCache<double> cache;
  arma::mat y;
  Rng rng(1);
  mha.forward(store, x, {2}, memory, false, false, rng, cache, y);
  // head 0 (row 0): keys (1, 0), values (1, 0);  head 1 (row 1): keys (2, 1), values (2, 1)
  auto context = [](double q, double k0, double k1) {  // softmax over two keys, values = keys
    const double a0 = std::exp(q * k0) / (std::exp(q * k0) + std::exp(q * k1));
    return a0 * k0 + (1 - a0) * k1;
  };
  const arma::mat expected = {{context(1.0, 1, 0) + 0.25, context(2.0, 1, 0) + 0.25},
                              {context(0.5, 2, 1) - 0.5, context(-1.0, 2, 1) - 0.5}};
  CHECK(arma::approx_equal(y, expected, "absdiff", 1e-14));
  // weights (S × T·H): the padded key gets exactly 0; head 0 query 0: e/(e + 1)
  CHECK(cache.weights(2, 0) == 0.0);
  CHECK(cache.weights(0, 0) == Approx(std::exp(1.0) / (std::exp(1.0) + 1.0)).epsilon(1e-14));

  SECTION("causal: query 0 sees key 0 only") {
    mha.forward(store, x, {2}, memory, true, false, rng, cache, y);
    CHECK(y(0, 0) == Approx(1.0 + 0.25).epsilon(1e-14));
    CHECK(y(1, 0) == Approx(2.0 - 0.5).epsilon(1e-14));
    CHECK(y(0, 1) == Approx(context(2.0, 1, 0) + 0.25).epsilon(1e-14));
  }
}

TEST_CASE("Multi-head attention masks: padding and causal weights are exactly 0, rows sum to 1",
          "[transformer]") {
  const uword D = 6, H = 3, B = 3, T = 4;
  const std::vector<uword> lengths{4, 2, 3};
  ParamLayout layout;
  MultiHeadAttention<double> mha(layout, "attn", D, H, 0.0);
  ParameterStore<double> store(std::move(layout));
  randomise(store, 2);
  arma::mat x = random_matrix(D, T * B, 3);
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "padding only"));
    MhaMemory<double> memory;
    MhaCache<double> cache;
    arma::mat y, y2;
    Rng rng(1);
    mha.project_memory(store, x, lengths, T, memory);
    mha.forward(store, x, lengths, memory, causal, false, rng, cache, y);
    check_weight_masks(cache.weights, H, B, T, lengths, lengths, causal);

    // Changing a later (causal) or padded position leaves every earlier real output unchanged.
    arma::mat x2 = x;
    x2.col(2 * B + 0) += 1.0;  // sequence 0, position 2
    x2.col(3 * B + 1) -= 2.0;  // sequence 1, position 3: padding
    mha.project_memory(store, x2, lengths, T, memory);
    mha.forward(store, x2, lengths, memory, causal, false, rng, cache, y2);
    for (uword t = 0; t < T; ++t)
      for (uword b = 0; b < B; ++b) {
        const bool unaffected = b == 1 || (causal && b == 0 && t < 2) || b == 2;
        if (unaffected && t < lengths[b])
          CHECK(arma::approx_equal(y.col(t * B + b), y2.col(t * B + b), "absdiff", 1e-15));
      }
    CHECK_FALSE(arma::approx_equal(y.col(3 * B), y2.col(3 * B), "absdiff", 1e-6));
  }
}

namespace {

// L = Σ R ⊙ y for self- or cross-attention, every parameter and input, dropout on the weights,
// optionally a relative position bias (self-attention; bidirectional unless causal).
void check_mha_gradients(bool self, bool causal, double dropout,
                         RelativeBiasKind bias = RelativeBiasKind::kNone) {
  const uword D = 4, H = 2, B = 3, T = 4, S = self ? T : 5;
  const std::vector<uword> query_lengths{4, 2, 3};
  const std::vector<uword> key_lengths = self ? query_lengths : std::vector<uword>{5, 3, 1};
  ParamLayout layout;
  MultiHeadAttention<double> mha(layout, "attn", D, H, dropout, bias, !causal);
  ParameterStore<double> store(std::move(layout));
  randomise(store, 7);
  CHECK(store.layout().contains("attn.relative_bias.weight") == (bias == RelativeBiasKind::kT5));
  arma::mat x = random_matrix(D, T * B, 11);
  arma::mat m = random_matrix(D, S * B, 12);
  const arma::mat R = random_matrix(D, T * B, 13);
  MhaMemory<double> memory;
  MhaCache<double> cache;
  auto run = [&](arma::mat& y) {
    Rng rng(5);  // the same dropout masks every time
    mha.project_memory(store, self ? x : m, key_lengths, S, memory);
    mha.forward(store, x, query_lengths, memory, causal, true, rng, cache, y);
  };
  auto loss = [&] {
    arma::mat y;
    run(y);
    return arma::accu(R % y);
  };
  arma::mat y;
  store.zero_grad();
  run(y);
  if (dropout == 0.0) check_weight_masks(cache.weights, H, B, T, query_lengths, key_lengths, causal);
  MhaMemoryGrad<double> grad;
  mha.begin_backward(memory, grad);
  arma::mat dx(D, T * B, arma::fill::zeros), dm(D, S * B, arma::fill::zeros);
  mha.backward(store, x, memory, cache, R, dx, grad);
  mha.project_memory_backward(store, self ? x : m, memory, grad, self ? dx : dm);
  check_gradients(store, loss);
  check_input_gradient("query", x, dx, loss);
  if (!self) check_input_gradient("memory", m, dm, loss);
}

}  // namespace

TEST_CASE("Multi-head attention gradients match finite differences", "[transformer][gradcheck]") {
  SECTION("self-attention, padding mask") { check_mha_gradients(true, false, 0.0); }
  SECTION("self-attention, padding and causal masks") { check_mha_gradients(true, true, 0.0); }
  SECTION("self-attention, causal, attention dropout") { check_mha_gradients(true, true, 0.3); }
  SECTION("cross-attention, padded memory, attention dropout") {
    check_mha_gradients(false, false, 0.3);
  }
  SECTION("ALiBi, symmetric (padding mask)") {
    check_mha_gradients(true, false, 0.0, RelativeBiasKind::kAlibi);
  }
  SECTION("ALiBi, causal, attention dropout") {
    check_mha_gradients(true, true, 0.3, RelativeBiasKind::kAlibi);
  }
  SECTION("T5 buckets, bidirectional (padding mask)") {
    check_mha_gradients(true, false, 0.0, RelativeBiasKind::kT5);
  }
  SECTION("T5 buckets, causal") { check_mha_gradients(true, true, 0.0, RelativeBiasKind::kT5); }
}

TEST_CASE("Relative position biases: ALiBi slopes and T5 buckets in closed form",
          "[transformer]") {
  ParamLayout layout;
  RelativePositionBias<double> alibi(layout, "alibi", RelativeBiasKind::kAlibi, 8, 16, true);
  CHECK(layout.entries().empty());
  RelativePositionBias<double> bi(layout, "bi", RelativeBiasKind::kT5, 2, 16, true);
  RelativePositionBias<double> causal(layout, "causal", RelativeBiasKind::kT5, 2, 16, false);
  ParameterStore<double> store(std::move(layout));
  for (uword h = 0; h < 8; ++h) CHECK(alibi.slope(h) == std::pow(0.5, h + 1.0));  // 1/2 … 1/256
  CHECK(alibi.value(store, 1, -3) == -0.75);
  CHECK(alibi.value(store, 1, 3) == -0.75);
  // Hugging Face T5 _relative_position_bucket(j − t, bidirectional, 32, 128)
  CHECK(bi.bucket(0) == 0);
  CHECK(bi.bucket(-7) == 7);
  CHECK(bi.bucket(-8) == 8);
  CHECK(bi.bucket(-20) == 10);   // 8 + ⌊ln(20/8) / ln(16) · 8⌋
  CHECK(bi.bucket(-30) == 11);
  CHECK(bi.bucket(3) == 19);     // keys to the right: the second 16
  CHECK(bi.bucket(-100000) == 15);
  CHECK(bi.bucket(100000) == 31);
  CHECK(causal.bucket(5) == 0);  // (never scored under the causal mask)
  CHECK(causal.bucket(-15) == 15);
  CHECK(causal.bucket(-20) == 17);  // 16 + ⌊ln(20/16) / ln(8) · 16⌋
  CHECK(causal.bucket(-127) == 31);
  CHECK(causal.bucket(-1000) == 31);
  CHECK_THROWS_AS(RelativePositionBias<double>(layout, "x", RelativeBiasKind::kNone, 2, 4, true),
                  std::invalid_argument);
}

TEST_CASE("With zero query/key weights the attention weights are the softmax of the bias alone",
          "[transformer]") {
  // D = 4, H = 2, one sequence of 4 real positions in 5 steps; W_q = W_k = 0 so E = bias.
  const uword D = 4, H = 2, T = 5;
  const std::vector<uword> lengths{4};
  for (RelativeBiasKind kind : {RelativeBiasKind::kAlibi, RelativeBiasKind::kT5})
    for (bool causal : {false, true}) {
      INFO((kind == RelativeBiasKind::kAlibi ? "alibi" : "t5") << (causal ? " causal" : ""));
      ParamLayout layout;
      MultiHeadAttention<double> mha(layout, "attn", D, H, 0.0, kind, !causal);
      ParameterStore<double> store(std::move(layout));
      randomise(store, 3);
      store.value(store.layout().find("attn.q_proj.weight")).zeros();
      store.value(store.layout().find("attn.k_proj.weight")).zeros();
      store.value(store.layout().find("attn.q_proj.bias")).zeros();
      const arma::mat x = random_matrix(D, T, 4);
      MhaMemory<double> memory;
      MhaCache<double> cache;
      arma::mat y;
      Rng rng(1);
      mha.project_memory(store, x, lengths, T, memory);
      mha.forward(store, x, lengths, memory, causal, false, rng, cache, y);
      ParamLayout unused;  // only for the bucket function
      RelativePositionBias<double> buckets(unused, "b", RelativeBiasKind::kT5, H, D, !causal);
      auto bias = [&](uword h, long r) {  // m_h = 2^(−8(h+1)/H): 1/16, 1/256
        if (kind == RelativeBiasKind::kAlibi) return -std::pow(2.0, -4.0 * (h + 1.0)) * std::abs(r);
        return store.value(store.layout().find("attn.relative_bias.weight"))(buckets.bucket(r), h);
      };
      for (uword h = 0; h < H; ++h)
        for (uword t = 0; t < lengths[0]; ++t) {
          const uword end = causal ? t + 1 : lengths[0];
          arma::vec expected(T, arma::fill::zeros);
          for (uword j = 0; j < end; ++j)
            expected(j) = std::exp(bias(h, static_cast<long>(j) - static_cast<long>(t)));
          expected /= arma::accu(expected);
          const arma::vec got = cache.weights.col(h * T + t);
          CHECK(arma::approx_equal(got, expected, "absdiff", 1e-14));
          for (uword j = end; j < T; ++j) CHECK(got(j) == 0.0);
        }
      for (uword h = 0; h < H; ++h) CHECK(arma::all(cache.weights.col(h * T + 4) == 0.0));
    }
}

TEST_CASE("Incremental attention steps equal the causal full recompute", "[transformer]") {
  const uword D = 6, H = 2, B = 2, T = 5;
  const RelativeBiasKind kind = GENERATE(RelativeBiasKind::kNone, RelativeBiasKind::kAlibi,
                                         RelativeBiasKind::kT5);
  INFO("relative bias kind " << static_cast<int>(kind));
  ParamLayout layout;
  MultiHeadAttention<double> mha(layout, "attn", D, H, 0.0, kind, false);
  ParameterStore<double> store(std::move(layout));
  randomise(store, 8);
  const arma::mat x = random_matrix(D, T * B, 9);
  const std::vector<uword> lengths(B, T);
  MhaMemory<double> full_memory, memory;
  MhaCache<double> cache;
  arma::mat y_full, y_step;
  Rng rng(1);
  mha.project_memory(store, x, lengths, T, full_memory);
  mha.forward(store, x, lengths, full_memory, true, false, rng, cache, y_full);
  mha.begin_incremental(memory, B, 2);  // grows twice on the way
  MhaStepBuffers<double> buffers;
  for (uword t = 0; t < T; ++t) {
    const arma::mat x_t = x.cols(t * B, (t + 1) * B - 1);
    mha.append(store, x_t, memory, buffers);
    mha.step(store, x_t, memory, buffers, y_step);
    CHECK(arma::approx_equal(y_step, y_full.cols(t * B, (t + 1) * B - 1), "absdiff", 1e-13));
  }
  CHECK(memory.steps >= T);
}

// ---------------------------------------------------------------------------------------------
// Feed-forward, positions

TEST_CASE("Feed-forward gradients match finite differences (ReLU, exact GELU, dropout)",
          "[transformer][gradcheck]") {
  for (const std::string act : {"relu", "gelu"}) {
    ParamLayout layout;
    FeedForward<double> ffn(layout, "ffn", 4, 7, parse_feed_forward_activation(act), 0.25);
    ParameterStore<double> store(std::move(layout));
    randomise(store, 3);
    arma::mat x = random_matrix(4, 6, 4);
    const arma::mat R = random_matrix(4, 6, 5);
    FeedForwardCache<double> cache;
    auto loss = [&] {
      Rng rng(9);
      arma::mat y;
      ffn.forward(store, x, true, rng, cache, y);
      return arma::accu(R % y);
    };
    store.zero_grad();
    Rng rng(9);
    arma::mat y, dx(arma::size(x), arma::fill::zeros);
    ffn.forward(store, x, true, rng, cache, y);
    ffn.backward(store, x, cache, R, dx);
    INFO("activation " << act);
    check_gradients(store, loss);
    check_input_gradient("x", x, dx, loss);
  }
}

TEST_CASE("GELU is the exact erf form. unknown activations and norms are listed",
          "[transformer]") {
  ParamLayout layout;
  FeedForward<double> ffn(layout, "ffn", 1, 1, FeedForwardActivation::kGelu, 0.0);
  ParameterStore<double> store(std::move(layout));
  store.values() = arma::vec{1.0, 0.0, 1.0, 0.0};  // W_1 = 1, b_1 = 0, W_2 = 1, b_2 = 0
  const arma::mat x = {{-1.5, 0.3, 2.0}};
  arma::mat y;
  FeedForwardCache<double> cache;
  Rng rng(1);
  ffn.forward(store, x, false, rng, cache, y);
  for (uword i = 0; i < 3; ++i)
    CHECK(y(0, i) == Approx(0.5 * x(0, i) * (1 + std::erf(x(0, i) / std::sqrt(2.0))))
                         .epsilon(1e-15));
  CHECK(y(0, 0) == Approx(-0.1002108019).margin(1e-9));  // torch.nn.functional.gelu(-1.5)
  CHECK_THROWS_WITH(parse_feed_forward_activation("swish"),
                    Catch::Contains("Valid options: relu, gelu"));
  CHECK_THROWS_WITH(parse_norm_placement("sandwich"), Catch::Contains("Valid options: pre, post"));
}

TEST_CASE("Sinusoidal positions follow Vaswani et al.", "[transformer]") {
  ParamLayout layout;
  PositionalEncoding<double> pe(layout, "pos", PositionKind::kSinusoidal, 6, 50);
  CHECK(layout.entries().empty());
  ParameterStore<double> store(std::move(layout));
  arma::mat x(6, 3 * 2, arma::fill::zeros);  // T = 3, B = 2, positions 7, 8, 9
  pe.add(store, x, 2, 7);
  for (uword t = 0; t < 3; ++t)
    for (uword i = 0; i < 3; ++i) {
      const double angle = (7.0 + t) / std::pow(10000.0, 2.0 * i / 6.0);
      CHECK(x(2 * i, t * 2 + 1) == Approx(std::sin(angle)).margin(1e-14));
      CHECK(x(2 * i + 1, t * 2) == Approx(std::cos(angle)).margin(1e-14));
    }
  CHECK_THROWS_AS(pe.add(store, x, 2, 48), std::out_of_range);
}

// ---------------------------------------------------------------------------------------------
// Layers

namespace {

TransformerLayerConfig layer_config(const std::string& norm, const std::string& activation) {
  TransformerLayerConfig c;
  c.d_model = 4;
  c.heads = 2;
  c.ff_size = 6;
  c.norm = parse_norm_placement(norm);
  c.activation = parse_feed_forward_activation(activation);
  c.dropout = 0.2;
  c.attention_dropout = 0.15;
  return c;
}

}  // namespace

TEST_CASE("Encoder layer gradients match finite differences (pre and post norm)",
          "[transformer][gradcheck]") {
  const uword B = 3, T = 4;
  const std::vector<uword> lengths{4, 2, 3};
  for (const std::string norm : {"pre", "post"}) {
    INFO("norm " << norm);
    ParamLayout layout;
    TransformerEncoderLayer<double> layer(layout, "enc", layer_config(norm, "gelu"));
    ParameterStore<double> store(std::move(layout));
    randomise(store, 21);
    arma::mat x = random_matrix(4, T * B, 22);
    const arma::mat R = random_matrix(4, T * B, 23);
    EncoderLayerCache<double> cache;
    auto loss = [&] {
      Rng rng(4);
      arma::mat y;
      layer.forward(store, x, lengths, true, rng, cache, y);
      return arma::accu(R % y);
    };
    store.zero_grad();
    Rng rng(4);
    arma::mat y, dx(arma::size(x), arma::fill::zeros);
    layer.forward(store, x, lengths, true, rng, cache, y);
    layer.backward(store, cache, R, dx);
    check_gradients(store, loss);
    check_input_gradient("x", x, dx, loss);
  }
}

TEST_CASE("Decoder layer gradients match finite differences (pre and post norm)",
          "[transformer][gradcheck]") {
  const uword B = 3, T = 4, S = 5;
  const std::vector<uword> tgt_lengths{4, 2, 3}, src_lengths{5, 3, 1};
  for (const std::string norm : {"pre", "post"}) {
    INFO("norm " << norm);
    ParamLayout layout;
    TransformerDecoderLayer<double> layer(layout, "dec", layer_config(norm, "relu"));
    ParameterStore<double> store(std::move(layout));
    randomise(store, 31);
    arma::mat x = random_matrix(4, T * B, 32);
    arma::mat e = random_matrix(4, S * B, 33);  // encoder output
    const arma::mat R = random_matrix(4, T * B, 34);
    MhaMemory<double> memory;
    DecoderLayerCache<double> cache;
    auto run = [&](arma::mat& y) {
      Rng rng(6);
      layer.project_memory(store, e, src_lengths, S, memory);
      layer.forward(store, x, tgt_lengths, memory, true, rng, cache, y);
    };
    auto loss = [&] {
      arma::mat y;
      run(y);
      return arma::accu(R % y);
    };
    store.zero_grad();
    arma::mat y, dx(arma::size(x), arma::fill::zeros), de(arma::size(e), arma::fill::zeros);
    run(y);
    MhaMemoryGrad<double> memory_grad;
    layer.begin_backward(memory, memory_grad);
    layer.backward(store, cache, memory, R, dx, memory_grad);
    layer.project_memory_backward(store, e, memory, memory_grad, de);
    check_gradients(store, loss);
    check_input_gradient("x", x, dx, loss);
    check_input_gradient("encoder output", e, de, loss);
  }
}

// ---------------------------------------------------------------------------------------------
// The whole model

namespace {

void check_model_gradients(const ModelConfig& config, uword src_vocab, uword tgt_vocab,
                           double weight_scale = 2.0, double eps = 1e-4) {
  TransformerSeq2Seq<double> model(config, src_vocab, tgt_vocab);
  Rng init_rng(11);
  model.init(init_rng);
  // Larger weights than the default init give larger gradients (gradcheck.hpp).
  model.params().values() *= weight_scale;
  const Batch batch = tiny_batch();
  LossOptions options;
  options.label_smoothing = 0.1;
  auto loss = [&] {
    Rng rng(5);  // the same dropout masks at every evaluation
    return model.forward_backward(batch, options, true, false, rng).loss;
  };
  model.params().zero_grad();
  Rng rng(5);
  model.forward_backward(batch, options, true, true, rng);
  check_gradients(model.params(), loss, eps);
}

}  // namespace

TEST_CASE("Transformer gradients match finite differences (pre and post norm, dropout)",
          "[transformer][gradcheck]") {
  for (const std::string norm : {"pre", "post"}) {
    INFO("norm " << norm);
    ModelConfig c = tiny_config(norm);
    c.dropout = 0.2;
    c.embed_dropout = 0.1;
    c.attention_dropout = 0.1;
    c.activation = norm == "pre" ? "relu" : "gelu";
    // Post-norm with doubled weights is curved enough for eps = 1e-4 to leave a 1e-5
    // truncation error; the default init is large enough there. Pre-norm's doubled query
    // projections left 2e-6 at eps = 1e-4 with some dropout masks (1.9e-8 at eps = 1e-5: the
    // O(eps²) truncation, not the gradient), so it takes eps = 1e-5.
    check_model_gradients(c, 7, 8, norm == "pre" ? 2.0 : 1.0, norm == "pre" ? 1e-5 : 1e-4);
  }
}

TEST_CASE("Transformer gradients with shared embeddings, learned positions, one layer",
          "[transformer][gradcheck]") {
  ModelConfig c = tiny_config("pre");
  c.transformer_layers = 1;
  c.share_embeddings = true;
  c.positions = "learned";
  c.dropout = 0.1;
  check_model_gradients(c, 7, 7);
  ModelConfig t = tiny_config("post");
  t.transformer_layers = 1;
  t.tie_embeddings = true;
  check_model_gradients(t, 7, 9);
}

TEST_CASE("Transformer gradients with relative positions (ALiBi, T5 buckets)",
          "[transformer][gradcheck]") {
  for (const std::string positions : {"alibi", "t5"}) {
    INFO("positions " << positions);
    ModelConfig c = tiny_config(positions == "alibi" ? "pre" : "post");
    c.positions = positions;
    c.dropout = 0.1;
    c.attention_dropout = 0.1;
    TransformerSeq2Seq<double> model(c, 7, 8);
    const ParamLayout& layout = model.params().layout();
    CHECK_FALSE(layout.contains("encoder.positions.weight"));
    CHECK(layout.contains("encoder.layer1.self_attn.relative_bias.weight") == (positions == "t5"));
    CHECK(layout.contains("decoder.layer0.self_attn.relative_bias.weight") == (positions == "t5"));
    CHECK_FALSE(layout.contains("decoder.layer0.cross_attn.relative_bias.weight"));
    check_model_gradients(c, 7, 8, 1.0);
  }
}

TEST_CASE("ALiBi cannot tell a source from its reversal. T5 buckets can", "[transformer]") {
  // A symmetric bias makes the encoder equivariant under j → S_b − 1 − j, and cross-attention
  // (no position bias) is invariant to the order of the memory: every target log-prob is the
  // same for a source and its reversal. Reversing a sequence without a source </s> is therefore
  // impossible with ALiBi alone; the direction-aware T5 buckets break the symmetry.
  for (const std::string positions : {"alibi", "t5"}) {
    INFO("positions " << positions);
    ModelConfig c = tiny_config("pre");
    c.positions = positions;
    TransformerSeq2Seq<double> model(c, 7, 8);
    Rng rng(5);
    model.init(rng);
    Batch batch = tiny_batch();
    arma::mat forward, reversed;
    model.forced_log_probs(batch, forward);
    const uword B = batch.size;
    const std::vector<Index> src = batch.source_ids;
    for (uword b = 0; b < B; ++b)
      for (uword j = 0; j < batch.source_lengths[b]; ++j)
        batch.source_ids[j * B + b] = src[(batch.source_lengths[b] - 1 - j) * B + b];
    model.forced_log_probs(batch, reversed);
    const bool same = arma::approx_equal(forward, reversed, "absdiff", 1e-12);
    CHECK(same == (positions == "alibi"));
  }
}

TEST_CASE("Transformer configuration errors are explicit", "[transformer]") {
  ModelConfig c = tiny_config("pre");
  c.share_embeddings = true;
  CHECK_THROWS_WITH(make_model<float>(c, 7, 9),
                    Catch::Contains("model.share_embeddings") && Catch::Contains("7") &&
                        Catch::Contains("9"));
  c.share_embeddings = false;
  c.heads = 3;
  CHECK_THROWS_WITH(make_model<float>(c, 7, 9), Catch::Contains("multiple of model.heads"));
  c = tiny_config("pre");
  auto model = make_model<float>(c, 7, 9);
  CHECK_THAT(model->describe(), Catch::StartsWith("transformer d_model 4"));
  Rng rng(1);
  model->init(rng);
  LossOptions sampling;
  sampling.sampling_ratio = 0.5;
  CHECK_THROWS_WITH(model->forward_backward(tiny_batch(), sampling, true, true, rng),
                    Catch::Contains("scheduled sampling"));
  c.positions = "rope";
  CHECK_THROWS_WITH(make_model<float>(c, 7, 9),
                    Catch::Contains("Valid options: sinusoidal, learned, alibi, t5"));
  ParamLayout layout;
  CHECK_THROWS_WITH(PositionalEncoding<float>(layout, "pos", PositionKind::kAlibi, 4, 8),
                    Catch::Contains("attention biases"));
  RunConfig run;
  run.model.positions = "t5";
  run.model.type = "rnn";
  CHECK_THROWS_WITH(validate(run), Catch::Contains("model.positions=t5") &&
                                       Catch::Contains("model.type=transformer"));
  run.model.type = "transformer";
  run.model.positions = "alibi";
  CHECK_NOTHROW(validate(run));
}

TEST_CASE("Transformer decoder is causal: a later target token changes no earlier log-prob",
          "[transformer]") {
  TransformerSeq2Seq<double> model(tiny_config("pre"), 7, 8);
  Rng rng(3);
  model.init(rng);
  Batch batch = tiny_batch();
  arma::mat before, after;
  model.forced_log_probs(batch, before);
  const uword B = batch.size;
  batch.target_input_ids[3 * B + 1] = 7;  // sequence 1, input position 3
  model.forced_log_probs(batch, after);
  for (uword t = 0; t < batch.target_steps; ++t) {
    INFO("position " << t);
    CHECK(arma::approx_equal(before.col(t * B + 0), after.col(t * B + 0), "absdiff", 1e-15));
    if (t < 3)
      CHECK(arma::approx_equal(before.col(t * B + 1), after.col(t * B + 1), "absdiff", 1e-14));
  }
  CHECK_FALSE(arma::approx_equal(before.col(3 * B + 1), after.col(3 * B + 1), "absdiff", 1e-6));
}

TEST_CASE("Incremental decoding equals the full recompute, also after reorder",
          "[transformer][decoding]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pre", "sinusoidal"}, {"post", "learned"}, {"pre", "alibi"}, {"post", "t5"}};
  for (const auto& [norm, positions] : cases) {
    INFO("norm " << norm << " positions " << positions);
    ModelConfig c = tiny_config(norm);
    c.d_model = 8;
    c.positions = positions;
    TransformerSeq2Seq<double> model(c, 7, 8);
    Rng rng(4);
    model.init(rng);
    const Batch batch = tiny_batch();
    const uword B = batch.size;
    arma::mat full;
    model.forced_log_probs(batch, full);
    auto state = model.encode(batch.source_ids, batch.source_lengths, batch.source_steps);
    // Rows are permuted after step 1: row i then decodes source order[i].
    std::vector<uword> order{0, 1, 2};
    arma::mat log_probs;
    for (uword t = 0; t < batch.target_steps; ++t) {
      if (t == 2) {
        order = {2, 0, 1};
        model.reorder(*state, order);
      }
      std::vector<Index> prev(B);
      for (uword i = 0; i < B; ++i) prev[i] = batch.target_input_ids[t * B + order[i]];
      model.decode_step(*state, prev, log_probs);
      for (uword i = 0; i < B; ++i) {
        const uword b = order[i];
        if (t >= batch.target_lengths[b]) continue;
        INFO("step " << t << " row " << i << " source " << b);
        CHECK(arma::approx_equal(log_probs.col(i), full.col(t * B + b), "absdiff", 1e-12));
      }
    }
    // The cross-attention weights of the last step: N layers × H heads of (S × N), rows of the
    // padded source positions exactly 0, each column summing to 1.
    const AttentionWeights<double> attn = model.attention(*state);
    REQUIRE(attn.weights.size() == 2);
    for (const auto& layer : attn.weights) {
      REQUIRE(layer.size() == 2);
      for (const arma::mat& w : layer) {
        REQUIRE(w.n_rows == batch.source_steps);
        for (uword i = 0; i < B; ++i) {
          CHECK(arma::accu(w.col(i)) == Approx(1.0));
          for (uword s = batch.source_lengths[order[i]]; s < w.n_rows; ++s) CHECK(w(s, i) == 0.0);
        }
      }
    }
  }
}

namespace {

struct ThreeDecodings {
  std::vector<std::vector<Hypothesis>> greedy, beam1, wide;
};

// Greedy search, beam search with K=1 and with K=`wide_k`, keeping the attention weights.
ThreeDecodings decode_three_ways(TransformerSeq2Seq<float>& model, const Batch& batch,
                                 uword wide_k) {
  DecodeOptions greedy;
  greedy.max_length_ratio = 1.5;
  greedy.keep_attention = true;
  DecodeOptions one = greedy, wide = greedy;
  one.beam_size = 1;
  wide.beam_size = wide_k;
  return {greedy_search(model, batch.source_ids, batch.source_lengths, batch.source_steps, greedy),
          beam_search(model, batch.source_ids, batch.source_lengths, batch.source_steps, one),
          beam_search(model, batch.source_ids, batch.source_lengths, batch.source_steps, wide)};
}

}  // namespace

TEST_CASE("Transformer beam search with K=1 equals greedy search, K>1 never scores lower",
          "[transformer][decoding]") {
  ModelConfig c = tiny_config("pre");
  c.d_model = 16;
  c.heads = 4;
  c.ff_size = 24;
  TransformerSeq2Seq<float> model(c, 7, 9);
  const Batch batch = tiny_batch();
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    Rng rng(seed);
    model.init(rng);
    const auto [g, b1, b4] = decode_three_ways(model, batch, 4);
    for (uword b = 0; b < batch.size; ++b) {
      INFO("seed " << seed << " sequence " << b);
      CHECK(b1[b][0].tokens == g[b][0].tokens);
      CHECK(b1[b][0].log_prob == g[b][0].log_prob);
      CHECK(b1[b][0].attention == g[b][0].attention);
      // (up to float roundoff: the K·B-row batch rounds differently from the B-row one)
      CHECK(b4[b][0].score >= b1[b][0].score - 1e-5);
    }
  }
}

TEST_CASE("Transformer decoding keeps each head of the last layer's cross-attention",
          "[transformer][decoding]") {
  ModelConfig c = tiny_config("pre");
  c.d_model = 16;
  c.heads = 4;
  c.ff_size = 24;
  const Batch batch = tiny_batch();
  for (uword layers : {1, 2}) {
    c.transformer_layers = layers;
    TransformerSeq2Seq<float> model(c, 7, 9);
    Rng rng(3);
    model.init(rng);
    const auto [g, b1, b3] = decode_three_ways(model, batch, 3);
    std::size_t steps_checked = 0;
    for (uword b = 0; b < batch.size; ++b) {
      INFO("layers " << layers << " sequence " << b);
      const Hypothesis& h = g[b][0];
      REQUIRE(h.head_attention.size() == h.tokens.size());
      for (std::size_t t = 0; t < h.tokens.size(); ++t) {
        REQUIRE(h.head_attention[t].size() == static_cast<std::size_t>(c.heads));
        std::vector<float> average(batch.source_steps, 0.0f);
        for (const auto& column : h.head_attention[t]) {
          REQUIRE(column.size() == batch.source_steps);
          double sum = 0.0;
          for (uword s = 0; s < column.size(); ++s) {
            if (s < batch.source_lengths[b]) sum += column[s];
            else CHECK(column[s] == 0.0f);  // padding
            average[s] += column[s] / c.heads;
          }
          CHECK(sum == Approx(1.0));
        }
        // With one layer, the last layer is the first: its head average is `attention`.
        if (layers == 1)
          for (uword s = 0; s < average.size(); ++s)
            CHECK(average[s] == Approx(h.attention[t][s]).margin(1e-6));
        ++steps_checked;
      }
      CHECK(b1[b][0].head_attention == h.head_attention);
      CHECK(b3[b][0].head_attention.size() == b3[b][0].tokens.size());
    }
    CHECK(steps_checked > 0);
  }
}

TEST_CASE("Float and double Transformers agree", "[transformer]") {
  ModelConfig c = tiny_config("post");
  c.activation = "gelu";
  TransformerSeq2Seq<double> model_d(c, 7, 8);
  TransformerSeq2Seq<float> model_f(c, 7, 8);
  Rng rng(12);
  model_d.init(rng);
  model_f.params().values() = arma::conv_to<arma::fvec>::from(model_d.params().values());
  const Batch batch = tiny_batch();
  LossOptions options;
  options.label_smoothing = 0.1;
  Rng rng_d(1), rng_f(1);
  const double loss_d = model_d.forward_backward(batch, options, false, true, rng_d).loss;
  const double loss_f = model_f.forward_backward(batch, options, false, true, rng_f).loss;
  CHECK(loss_f == Approx(loss_d).epsilon(1e-5));
  CHECK(arma::approx_equal(arma::conv_to<arma::vec>::from(model_f.params().grads()),
                           model_d.params().grads(), "absdiff", 1e-5));
}
