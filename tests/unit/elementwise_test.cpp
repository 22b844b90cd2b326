// Tests of the elementwise kernels (unary math, activations, binary arithmetic
// and comparisons with broadcasting, variadic Max/Min/Sum/Mean, Where, Clip,
// Cast, Identity, Dropout) against naive reference loops written here and
// values from ONNX's spec examples and node tests; plus thread-count
// independence and error cases.
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> run(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
                        size_t numOutputs = 1, unsigned threads = 2) {
  KernelFn fn = findKernel(name);
  if (!fn)
    throw std::runtime_error(std::string("no kernel ") + name);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor run1(const char *name, const std::vector<Tensor> &inputs, const AttrMap &attrs = {},
            unsigned threads = 2) {
  return run(name, attrs, inputs, 1, threads).at(0);
}

template <typename T> Tensor make(Shape shape, std::vector<T> values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.mutableData<T>());
  return t;
}

Tensor boolTensor(Shape shape, std::vector<int> values) {
  Tensor t(DType::Bool, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  for (size_t i = 0; i < values.size(); ++i)
    t.mutableData<bool>()[i] = values[i] != 0;
  return t;
}

template <typename T> Tensor scalar(T v) { return make<T>({}, {v}); }

template <typename T> std::vector<T> values(const Tensor &t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

/// Uniform random floats (or doubles) in [lo, hi).
template <typename T = float> Tensor randomTensor(Shape shape, double lo, double hi,
                                                  unsigned seed = 1) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<T>()[i] = static_cast<T>(dist(gen));
  return t;
}

template <typename T> Tensor randomInts(Shape shape, int64_t lo, int64_t hi, unsigned seed = 1) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<T>()[i] = static_cast<T>(dist(gen));
  return t;
}

/// Index of output element `linear` (of `outShape`) in an operand of `shape`,
/// by numpy's rule: right-align, size-1 dims read index 0.
int64_t broadcastSource(const Shape &shape, const Shape &outShape, int64_t linear) {
  int64_t src = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(outShape.size()) - 1,
               s = static_cast<int64_t>(shape.size()) - 1;
       d >= 0; --d, --s) {
    int64_t idx = linear % outShape[d];
    linear /= outShape[d];
    if (s >= 0) {
      if (shape[s] != 1)
        src += idx * stride;
      stride *= shape[s];
    }
  }
  return src;
}

/// Naive broadcasting reference for a binary op.
template <typename TA, typename TB, typename TO>
std::vector<TO> naiveBinary(const Tensor &a, const Tensor &b,
                            const std::function<TO(TA, TB)> &op) {
  Shape out = broadcastShapes(a.shape(), b.shape());
  std::vector<TO> result(static_cast<size_t>(shapeNumel(out)));
  for (int64_t i = 0; i < static_cast<int64_t>(result.size()); ++i)
    result[i] = op(a.data<TA>()[broadcastSource(a.shape(), out, i)],
                   b.data<TB>()[broadcastSource(b.shape(), out, i)]);
  return result;
}

/// EXPECT that float results agree to `rel` relative (or `abs` absolute) error.
template <typename T>
void expectClose(const std::vector<T> &got, const std::vector<T> &want, double rel,
                 double abs = 0.0, const std::string &what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = got[i], w = want[i];
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " at " << i;
      continue;
    }
    if (std::isinf(w)) {
      EXPECT_EQ(g, w) << what << " at " << i;
      continue;
    }
    EXPECT_LE(std::fabs(g - w), std::max(abs, rel * std::fabs(w)))
        << what << " at " << i << ": got " << g << " want " << w;
  }
}

// ---------------------------------------------------------------------------
// Unary math and activations

struct UnaryCase {
  const char *name;
  double lo, hi;
  std::function<double(double)> ref;
};

TEST(ElementwiseUnary, MathMatchesStdInFloatAndDouble) {
  std::vector<UnaryCase> cases = {
      {"exp", -80, 80, [](double x) { return std::exp(x); }},
      {"log", 1e-6, 1e6, [](double x) { return std::log(x); }},
      {"sqrt", 0, 1e4, [](double x) { return std::sqrt(x); }},
      {"reciprocal", 0.01, 100, [](double x) { return 1 / x; }},
      {"erf", -5, 5, [](double x) { return std::erf(x); }},
      {"sin", -10, 10, [](double x) { return std::sin(x); }},
      {"cos", -10, 10, [](double x) { return std::cos(x); }},
      {"tan", -1.5, 1.5, [](double x) { return std::tan(x); }},
      {"asin", -1, 1, [](double x) { return std::asin(x); }},
      {"acos", -1, 1, [](double x) { return std::acos(x); }},
      {"atan", -10, 10, [](double x) { return std::atan(x); }},
      {"sinh", -10, 10, [](double x) { return std::sinh(x); }},
      {"cosh", -10, 10, [](double x) { return std::cosh(x); }},
      {"asinh", -10, 10, [](double x) { return std::asinh(x); }},
      {"acosh", 1, 10, [](double x) { return std::acosh(x); }},
      {"atanh", -0.99, 0.99, [](double x) { return std::atanh(x); }},
      {"floor", -10, 10, [](double x) { return std::floor(x); }},
      {"ceil", -10, 10, [](double x) { return std::ceil(x); }},
      {"abs", -10, 10, [](double x) { return std::fabs(x); }},
      {"neg", -10, 10, [](double x) { return -x; }},
      {"relu", -10, 10, [](double x) { return x > 0 ? x : 0; }},
      {"sigmoid", -30, 30, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"tanh", -10, 10, [](double x) { return std::tanh(x); }},
      {"softplus", -30, 30, [](double x) { return std::log1p(std::exp(x)); }},
      {"softsign", -10, 10, [](double x) { return x / (1 + std::fabs(x)); }},
      {"mish", -10, 10, [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }},
      {"hard_swish", -5, 5,
       [](double x) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); }},
      {"elu", -5, 5, [](double x) { return x < 0 ? std::exp(x) - 1 : x; }},
      {"selu", -5, 5,
       [](double x) {
         double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
         return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha);
       }},
      {"celu", -5, 5, [](double x) { return std::max(0.0, x) + std::min(0.0, std::exp(x) - 1); }},
      {"leaky_relu", -5, 5, [](double x) { return x < 0 ? double(0.01f) * x : x; }},
      {"thresholded_relu", -5, 5, [](double x) { return x > 1 ? x : 0; }},
      {"hard_sigmoid", -5, 5,
       [](double x) { return std::max(0.0, std::min(1.0, double(0.2f) * x + 0.5)); }},
      {"gelu", -5, 5, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"shrink", -2, 2, [](double x) { return x < -0.5 ? x : (x > 0.5 ? x : 0); }},
  };
  for (const UnaryCase &c : cases) {
    Tensor xf = randomTensor<float>({3, 7, 11}, c.lo, c.hi);
    Tensor xd = randomTensor<double>({3, 7, 11}, c.lo, c.hi);
    std::vector<float> wantF;
    std::vector<double> wantD;
    for (float v : values<float>(xf))
      wantF.push_back(static_cast<float>(c.ref(v)));
    for (double v : values<double>(xd))
      wantD.push_back(c.ref(v));
    Tensor yf = run1(c.name, {xf});
    Tensor yd = run1(c.name, {xd});
    EXPECT_EQ(yf.shape(), xf.shape()) << c.name;
    expectClose(values<float>(yf), wantF, 2e-6, 1e-6, c.name);
    expectClose(values<double>(yd), wantD, 1e-12, 1e-14, c.name);
  }
}

/// float32 Exp/Sigmoid/Tanh use vectorizable polynomials: check them against
/// double libm on every 101st float of the range where the result is normal.
TEST(ElementwiseUnary, Float32ExpSigmoidTanhAreWithinAFewUlp) {
  struct Case {
    const char *name;
    float lo, hi;
    double (*ref)(double);
  };
  const Case cases[] = {
      {"exp", -87.3f, 88.7f, [](double x) { return std::exp(x); }},
      {"sigmoid", -87.0f, 100.0f, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"tanh", -30.0f, 30.0f, [](double x) { return std::tanh(x); }},
  };
  for (const Case &c : cases) {
    std::vector<float> xs;
    for (uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 101) {
      uint32_t b = static_cast<uint32_t>(bits);
      float x;
      std::memcpy(&x, &b, sizeof x);
      if (x >= c.lo && x <= c.hi)
        xs.push_back(x);
    }
    Tensor in = make<float>({static_cast<int64_t>(xs.size())}, xs);
    Tensor out = run1(c.name, {in});
    double worst = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      double want = c.ref(xs[i]);
      worst = std::max(worst, std::fabs(out.data<float>()[i] - want) / std::fabs(want));
    }
    EXPECT_LT(worst, 3e-7) << c.name << " over " << xs.size() << " values";
  }
  float inf = std::numeric_limits<float>::infinity();
  Tensor special = make<float>({5}, {inf, -inf, std::nanf(""), 89.0f, -200.0f});
  auto e = values<float>(run1("exp", {special}));
  EXPECT_EQ(e[0], inf);
  EXPECT_EQ(e[1], 0.0f);
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_EQ(e[3], inf);
  EXPECT_EQ(e[4], 0.0f);
  auto t = values<float>(run1("tanh", {special}));
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], -1.0f);
  EXPECT_TRUE(std::isnan(t[2]));
  EXPECT_EQ(t[4], -1.0f);
  auto sg = values<float>(run1("sigmoid", {special}));
  EXPECT_EQ(sg[0], 1.0f);
  EXPECT_EQ(sg[1], 0.0f);
  EXPECT_TRUE(std::isnan(sg[2]));
  EXPECT_EQ(sg[4], 0.0f);
  EXPECT_EQ(std::fabs(std::exp(-1e-40f) - values<float>(run1("exp", {scalar(-1e-40f)}))[0]), 0);
  // Subnormal results are still produced (rounded twice, so within one subnormal ulp).
  float sub = values<float>(run1("exp", {scalar(-100.0f)}))[0];
  EXPECT_NEAR(sub, std::exp(-100.0f), 1.5e-45f);
}

TEST(ElementwiseUnary, RoundIsHalfToEven) {
  // ONNX spec example for Round.
  Tensor x = make<float>({15}, {0.1f, 0.5f, 0.9f, 1.2f, 1.5f, 1.8f, 2.3f, 2.5f, 2.7f, -1.1f,
                                -1.5f, -1.9f, -2.2f, -2.5f, -2.8f});
  EXPECT_EQ(values<float>(run1("round", {x})),
            (std::vector<float>{0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3}));
}

TEST(ElementwiseUnary, SpecialValues) {
  float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  Tensor x = make<float>({5}, {-inf, -0.0f, 0.0f, inf, nan});
  auto relu = values<float>(run1("relu", {x}));
  EXPECT_EQ(relu[0], 0.0f);
  EXPECT_EQ(relu[3], inf);
  EXPECT_TRUE(std::isnan(relu[4]));
  auto sig = values<float>(run1("sigmoid", {x}));
  EXPECT_EQ(sig[0], 0.0f);
  EXPECT_EQ(sig[3], 1.0f);
  EXPECT_TRUE(std::isnan(sig[4]));
  auto sp = values<float>(run1("softplus", {make<float>({2}, {100.0f, -100.0f})}));
  EXPECT_FLOAT_EQ(sp[0], 100.0f); // log(exp(100) + 1) without overflow
  EXPECT_GT(sp[1], 0.0f);
  auto sign = values<float>(run1("sign", {x}));
  EXPECT_EQ(sign[0], -1.0f);
  EXPECT_EQ(sign[2], 0.0f);
  EXPECT_EQ(sign[3], 1.0f);
  EXPECT_TRUE(std::isnan(sign[4]));
}

TEST(ElementwiseUnary, IntegerAbsNegSignRelu) {
  Tensor x = make<int32_t>({5}, {-7, 0, 3, std::numeric_limits<int32_t>::min(), 9});
  EXPECT_EQ(values<int32_t>(run1("abs", {x})),
            (std::vector<int32_t>{7, 0, 3, std::numeric_limits<int32_t>::min(), 9}));
  EXPECT_EQ(values<int32_t>(run1("neg", {x})),
            (std::vector<int32_t>{7, 0, -3, std::numeric_limits<int32_t>::min(), -9}));
  EXPECT_EQ(values<int32_t>(run1("sign", {x})), (std::vector<int32_t>{-1, 0, 1, -1, 1}));
  EXPECT_EQ(values<int32_t>(run1("relu", {x})), (std::vector<int32_t>{0, 0, 3, 0, 9}));
  Tensor u = make<uint8_t>({3}, {0, 5, 255});
  EXPECT_EQ(values<uint8_t>(run1("abs", {u})), (std::vector<uint8_t>{0, 5, 255}));
  EXPECT_EQ(values<uint8_t>(run1("sign", {u})), (std::vector<uint8_t>{0, 1, 1}));
  Tensor i8 = make<int8_t>({3}, {-128, -1, 5});
  EXPECT_EQ(values<int8_t>(run1("abs", {i8})), (std::vector<int8_t>{-128, 1, 5}));
  EXPECT_THROW(run1("neg", {u}), Error); // Neg is for signed types only
  EXPECT_THROW(run1("exp", {x}), Error); // floating only
}

TEST(ElementwiseUnary, ActivationAttributes) {
  Tensor x = make<float>({6}, {-3.0f, -1.0f, -0.25f, 0.25f, 1.0f, 3.0f});
  AttrMap alpha;
  alpha.set("alpha", 2.0f);
  auto elu = values<float>(run1("elu", {x}, alpha));
  EXPECT_FLOAT_EQ(elu[0], 2.0f * std::expm1(-3.0f));
  EXPECT_FLOAT_EQ(elu[5], 3.0f);
  auto leaky = values<float>(run1("leaky_relu", {x}, alpha));
  EXPECT_FLOAT_EQ(leaky[1], -2.0f);
  auto thr = values<float>(run1("thresholded_relu", {x}, alpha));
  EXPECT_EQ(thr, (std::vector<float>{0, 0, 0, 0, 0, 3}));
  auto celu = values<float>(run1("celu", {x}, alpha));
  EXPECT_FLOAT_EQ(celu[0], 2.0f * std::expm1(-1.5f));

  AttrMap selu;
  selu.set("alpha", 2.0f);
  selu.set("gamma", 3.0f);
  auto s = values<float>(run1("selu", {x}, selu)); // spec example values
  EXPECT_NEAR(s[1], -3.79272318f, 1e-6);
  EXPECT_FLOAT_EQ(s[4], 3.0f);

  AttrMap hs;
  hs.set("alpha", 0.5f);
  hs.set("beta", 0.6f);
  expectClose(values<float>(run1("hard_sigmoid", {x}, hs)),
              std::vector<float>{0.0f, 0.1f, 0.475f, 0.725f, 1.0f, 1.0f}, 1e-6, 1e-7);

  AttrMap sh;
  sh.set("lambd", 1.5f);
  sh.set("bias", 1.5f);
  Tensor sx = make<float>({5}, {-2.0f, -1.0f, 0.0f, 1.0f, 2.0f});
  EXPECT_EQ(values<float>(run1("shrink", {sx}, sh)),
            (std::vector<float>{-0.5f, 0, 0, 0, 0.5f})); // test_shrink_soft
  Tensor si = make<int32_t>({5}, {-3, -1, 0, 1, 3});
  EXPECT_EQ(values<int32_t>(run1("shrink", {si}, sh)), (std::vector<int32_t>{-1, 0, 0, 0, 1}));

  AttrMap tanh;
  tanh.set("approximate", std::string("tanh"));
  Tensor gx = randomTensor({100}, -6, 6);
  auto g = values<float>(run1("gelu", {gx}, tanh));
  for (int64_t i = 0; i < 100; ++i) {
    double v = gx.data<float>()[i];
    double want =
        0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(g[i], want, 1e-5 + 1e-6 * std::fabs(want));
  }
  AttrMap bad;
  bad.set("approximate", std::string("erf"));
  EXPECT_THROW(run1("gelu", {gx}, bad), Error);
}

TEST(ElementwiseUnary, LogicalAndTests) {
  Tensor b = boolTensor({4}, {1, 0, 0, 1});
  EXPECT_EQ(values<bool>(run1("not", {b})), (std::vector<bool>{false, true, true, false}));
  float inf = std::numeric_limits<float>::infinity();
  Tensor x = make<float>({5}, {-1.2f, std::nanf(""), inf, 2.8f, -inf});
  EXPECT_EQ(values<bool>(run1("is_nan", {x})), (std::vector<bool>{0, 1, 0, 0, 0}));
  EXPECT_EQ(values<bool>(run1("is_inf", {x})), (std::vector<bool>{0, 0, 1, 0, 1}));
  AttrMap posOnly;
  posOnly.set("detect_negative", int64_t{0});
  EXPECT_EQ(values<bool>(run1("is_inf", {x}, posOnly)), (std::vector<bool>{0, 0, 1, 0, 0}));
  AttrMap negOnly;
  negOnly.set("detect_positive", int64_t{0});
  EXPECT_EQ(values<bool>(run1("is_inf", {x}, negOnly)), (std::vector<bool>{0, 0, 0, 0, 1}));
  Tensor u = make<uint8_t>({2}, {0, 0x0F});
  EXPECT_EQ(values<uint8_t>(run1("bitwise_not", {u})), (std::vector<uint8_t>{0xFF, 0xF0}));
  Tensor i = make<int32_t>({2}, {0, -5});
  EXPECT_EQ(values<int32_t>(run1("bitwise_not", {i})), (std::vector<int32_t>{-1, 4}));
  EXPECT_THROW(run1("not", {x}), Error);
  EXPECT_THROW(run1("bitwise_not", {x}), Error);
}

TEST(ElementwiseUnary, IdentityAndDropout) {
  Tensor x = randomTensor({2, 3}, -1, 1);
  EXPECT_EQ(values<float>(run1("identity", {x})), values<float>(x));
  Tensor i64 = make<int64_t>({2}, {1, 2});
  EXPECT_EQ(values<int64_t>(run1("identity", {i64})), (std::vector<int64_t>{1, 2}));

  auto two = run("dropout", {}, {x, scalar(0.7f)}, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(values<float>(two[0]), values<float>(x));
  EXPECT_EQ(two[1].dtype(), DType::Bool);
  EXPECT_EQ(two[1].shape(), x.shape());
  EXPECT_EQ(values<bool>(two[1]), std::vector<bool>(6, true));
  // Inference with training_mode = false, and training with ratio 0, are the identity.
  EXPECT_EQ(values<float>(run1("dropout", {x, scalar(0.5f), boolTensor({}, {0})})),
            values<float>(x));
  EXPECT_EQ(values<float>(run1("dropout", {x, scalar(0.0f), boolTensor({}, {1})})),
            values<float>(x));
  try {
    run1("dropout", {x, scalar(0.5f), boolTensor({}, {1})});
    FAIL() << "training mode accepted";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "training mode is not supported");
  }
  EXPECT_THROW(run1("dropout", {x, make<float>({2}, {0.1f, 0.2f})}), Error);
}

TEST(ElementwiseUnary, LargeTensorsAreThreadCountIndependent) {
  Tensor x = randomTensor({3, 100003}, -8, 8, 7);
  for (const char *name : {"exp", "tanh", "sigmoid", "gelu", "relu", "erf"}) {
    auto one = values<float>(run1(name, {x}, {}, 1));
    auto four = values<float>(run1(name, {x}, {}, 4));
    EXPECT_EQ(std::memcmp(one.data(), four.data(), one.size() * sizeof(float)), 0) << name;
    auto ref = values<float>(run1(name, {x.reshaped({300009})}, {}, 3));
    EXPECT_EQ(std::memcmp(one.data(), ref.data(), one.size() * sizeof(float)), 0) << name;
  }
}

// ---------------------------------------------------------------------------
// Binary broadcasting

/// Shape pairs covering the specialized loops (same shape, scalar, row and
/// channel broadcast) and the general strided path.
const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {}},        {{}, {2, 3, 4}},
    {{1}, {5}},             {{2, 3, 4}, {4}},       {{4}, {2, 3, 4}},
    {{2, 3, 4}, {3, 1}},    {{2, 1, 4}, {3, 1}},    {{1, 3, 1, 5}, {2, 1, 4, 1}},
    {{2, 3, 4, 5}, {3, 1, 1}}, {{5, 1}, {1, 6}},    {{2, 0, 3}, {1, 3}},
    {{3, 1, 2}, {3, 4, 2}}, {{64, 130}, {1, 130}},  {{7, 33, 129}, {33, 1}},
};

TEST(ElementwiseBinary, FloatArithmeticMatchesNaiveBroadcast) {
  using Fn = std::function<float(float, float)>;
  std::vector<std::pair<const char *, Fn>> ops = {
      {"add", [](float x, float y) { return x + y; }},
      {"sub", [](float x, float y) { return x - y; }},
      {"mul", [](float x, float y) { return x * y; }},
      {"div", [](float x, float y) { return x / y; }},
      {"pow", [](float x, float y) { return std::pow(x, y); }},
  };
  unsigned seed = 1;
  for (auto &[sa, sb] : kBroadcastPairs) {
    Tensor a = randomTensor(sa, 0.5, 3, seed++);
    Tensor b = randomTensor(sb, 0.5, 3, seed++);
    for (auto &[name, fn] : ops) {
      Tensor out = run1(name, {a, b});
      EXPECT_EQ(out.shape(), broadcastShapes(sa, sb)) << name;
      EXPECT_EQ(values<float>(out), (naiveBinary<float, float, float>(a, b, fn)))
          << name << " " << shapeToString(sa) << " " << shapeToString(sb);
    }
  }
}

TEST(ElementwiseBinary, LargeBroadcastIsThreadCountIndependent) {
  for (auto &[sa, sb] : std::vector<std::pair<Shape, Shape>>{
           {{8, 64, 33, 31}, {64, 1, 1}}, {{300, 401}, {401}}, {{300, 1, 3}, {1, 401, 1}},
           {{1, 70000}, {70000}}}) {
    Tensor a = randomTensor(sa, -2, 2, 3);
    Tensor b = randomTensor(sb, -2, 2, 4);
    auto want = naiveBinary<float, float, float>(a, b, [](float x, float y) { return x * y; });
    for (unsigned threads : {1u, 2u, 5u})
      EXPECT_EQ(values<float>(run1("mul", {a, b}, {}, threads)), want)
          << shapeToString(sa) << " threads " << threads;
  }
}

TEST(ElementwiseBinary, IntegerArithmetic) {
  Tensor a = make<int32_t>({6}, {7, -7, 7, -7, std::numeric_limits<int32_t>::min(), 0});
  Tensor b = make<int32_t>({6}, {2, 2, -2, -2, -1, 3});
  // Div truncates toward zero (ONNX reference: divide, then cast back).
  EXPECT_EQ(values<int32_t>(run1("div", {a, b})),
            (std::vector<int32_t>{3, -3, -3, 3, std::numeric_limits<int32_t>::min(), 0}));
  // Mod: fmod=0 takes the divisor's sign, fmod=1 the dividend's.
  EXPECT_EQ(values<int32_t>(run1("mod", {a, b})), (std::vector<int32_t>{1, 1, -1, -1, 0, 0}));
  AttrMap fmod;
  fmod.set("fmod", int64_t{1});
  EXPECT_EQ(values<int32_t>(run1("mod", {a, b}, fmod)),
            (std::vector<int32_t>{1, -1, 1, -1, 0, 0}));
  // Wrapping add/mul.
  Tensor big = make<int32_t>({1}, {std::numeric_limits<int32_t>::max()});
  EXPECT_EQ(values<int32_t>(run1("add", {big, make<int32_t>({1}, {1})})),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  Tensor u8 = make<uint8_t>({2}, {200, 3});
  EXPECT_EQ(values<uint8_t>(run1("mul", {u8, make<uint8_t>({2}, {2, 5})})),
            (std::vector<uint8_t>{144, 15}));
  EXPECT_EQ(values<uint8_t>(run1("sub", {make<uint8_t>({1}, {1}), make<uint8_t>({1}, {2})})),
            (std::vector<uint8_t>{255}));
  // Division / modulo by zero are errors, not crashes.
  EXPECT_THROW(run1("div", {a, make<int32_t>({1}, {0})}), Error);
  EXPECT_THROW(run1("mod", {a, make<int32_t>({2, 1}, {1, 0})}), Error);
  // Broadcast int64 against the naive reference.
  Tensor x = randomInts<int64_t>({4, 5}, -100, 100, 3);
  Tensor y = randomInts<int64_t>({5}, 1, 9, 4);
  EXPECT_EQ(values<int64_t>(run1("mod", {x, y})),
            (naiveBinary<int64_t, int64_t, int64_t>(x, y, [](int64_t p, int64_t q) {
              int64_t r = p % q;
              return (r != 0 && ((r < 0) != (q < 0))) ? r + q : r;
            })));
  EXPECT_EQ(values<int64_t>(run1("div", {x, y})),
            (naiveBinary<int64_t, int64_t, int64_t>(x, y,
                                                    [](int64_t p, int64_t q) { return p / q; })));
}

TEST(ElementwiseBinary, FloatModIsFmod) {
  // test_mod_mixed_sign_float32 (fmod=1), and the reference's fmod for fmod=0.
  Tensor a = make<float>({6}, {-4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 8.0f});
  Tensor b = make<float>({6}, {2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 5.0f});
  auto want = naiveBinary<float, float, float>(a, b, [](float x, float y) {
    return std::fmod(x, y);
  });
  AttrMap fmod;
  fmod.set("fmod", int64_t{1});
  EXPECT_EQ(values<float>(run1("mod", {a, b}, fmod)), want);
  EXPECT_EQ(values<float>(run1("mod", {a, b})), want);
}

TEST(ElementwiseBinary, PowMixedTypes) {
  Tensor fb = make<float>({3}, {1.0f, 2.0f, 3.0f});
  // Exponent dtype differs from the base's; the result keeps the base's dtype.
  Tensor out = run1("pow", {fb, make<int64_t>({3}, {4, 5, 6})});
  EXPECT_EQ(out.dtype(), DType::F32);
  EXPECT_EQ(values<float>(out), (std::vector<float>{1, 32, 729}));
  Tensor ib = make<int64_t>({4}, {2, -3, 5, 1});
  EXPECT_EQ(values<int64_t>(run1("pow", {ib, make<int64_t>({4}, {10, 3, 0, -2})})),
            (std::vector<int64_t>{1024, -27, 1, 1}));
  EXPECT_EQ(values<int64_t>(run1("pow", {ib, make<int64_t>({1}, {-1})})),
            (std::vector<int64_t>{0, 0, 0, 1}));
  Tensor i32 = make<int32_t>({2}, {2, 9});
  EXPECT_EQ(values<int32_t>(run1("pow", {i32, make<float>({}, {0.5f})})),
            (std::vector<int32_t>{1, 3}));
  // x ** 2 (fast path) equals pow bit for bit, also for negatives and broadcast.
  Tensor x = randomTensor({50}, -10, 10);
  auto sq = values<float>(run1("pow", {x, scalar(2.0f)}));
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(sq[i], std::pow(x.data<float>()[i], 2.0f));
  Tensor row = randomTensor({2, 3}, 0.5, 2);
  EXPECT_EQ(run1("pow", {make<float>({3}, {1, 2, 3}), row}).shape(), (Shape{2, 3}));
  EXPECT_THROW(run1("pow", {make<uint8_t>({1}, {2}), make<uint8_t>({1}, {2})}), Error);
}

TEST(ElementwiseBinary, ComparisonsAndLogic) {
  Tensor a = randomInts<int32_t>({3, 4}, -3, 3, 5);
  Tensor b = randomInts<int32_t>({4}, -3, 3, 6);
  using Cmp = std::function<bool(int32_t, int32_t)>;
  std::vector<std::pair<const char *, Cmp>> ops = {
      {"equal", [](int32_t x, int32_t y) { return x == y; }},
      {"less", [](int32_t x, int32_t y) { return x < y; }},
      {"less_or_equal", [](int32_t x, int32_t y) { return x <= y; }},
      {"greater", [](int32_t x, int32_t y) { return x > y; }},
      {"greater_or_equal", [](int32_t x, int32_t y) { return x >= y; }},
  };
  for (auto &[name, fn] : ops) {
    Tensor out = run1(name, {a, b});
    EXPECT_EQ(out.dtype(), DType::Bool);
    EXPECT_EQ(values<bool>(out), (naiveBinary<int32_t, int32_t, bool>(a, b, fn))) << name;
  }
  float nan = std::nanf("");
  Tensor f = make<float>({3}, {nan, 1.0f, 2.0f});
  EXPECT_EQ(values<bool>(run1("equal", {f, f})), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(values<bool>(run1("greater_or_equal", {f, scalar(1.5f)})),
            (std::vector<bool>{false, false, true}));

  Tensor p = boolTensor({2, 2}, {0, 0, 1, 1});
  Tensor q = boolTensor({2}, {0, 1});
  EXPECT_EQ(values<bool>(run1("and", {p, q})), (std::vector<bool>{0, 0, 0, 1}));
  EXPECT_EQ(values<bool>(run1("or", {p, q})), (std::vector<bool>{0, 1, 1, 1}));
  EXPECT_EQ(values<bool>(run1("xor", {p, q})), (std::vector<bool>{0, 1, 1, 0}));
  EXPECT_EQ(values<bool>(run1("equal", {p, q})), (std::vector<bool>{1, 0, 0, 1}));
  EXPECT_THROW(run1("and", {a, b}), Error);
  EXPECT_THROW(run1("less", {a, f}), Error); // mixed dtypes
}

TEST(ElementwiseBinary, BitwiseAndShift) {
  Tensor a = make<uint16_t>({3}, {0xF0F0, 0x00FF, 0x1234});
  Tensor b = make<uint16_t>({3}, {0xFF00, 0x0F0F, 0xFFFF});
  EXPECT_EQ(values<uint16_t>(run1("bitwise_and", {a, b})),
            (std::vector<uint16_t>{0xF000, 0x000F, 0x1234}));
  EXPECT_EQ(values<uint16_t>(run1("bitwise_or", {a, b})),
            (std::vector<uint16_t>{0xFFF0, 0x0FFF, 0xFFFF}));
  EXPECT_EQ(values<uint16_t>(run1("bitwise_xor", {a, b})),
            (std::vector<uint16_t>{0x0FF0, 0x0FF0, 0xEDCB}));
  Tensor i = make<int8_t>({2}, {-1, 6});
  EXPECT_EQ(values<int8_t>(run1("bitwise_and", {i, make<int8_t>({}, {3})})),
            (std::vector<int8_t>{3, 2}));

  AttrMap left, right;
  left.set("direction", std::string("LEFT"));
  right.set("direction", std::string("RIGHT"));
  Tensor x = make<uint8_t>({4}, {16, 4, 1, 255});
  Tensor y = make<uint8_t>({4}, {1, 2, 3, 8});
  EXPECT_EQ(values<uint8_t>(run1("bit_shift", {x, y}, left)),
            (std::vector<uint8_t>{32, 16, 8, 0}));
  EXPECT_EQ(values<uint8_t>(run1("bit_shift", {x, y}, right)),
            (std::vector<uint8_t>{8, 1, 0, 0}));
  Tensor x64 = make<uint64_t>({2}, {1, 1});
  EXPECT_EQ(values<uint64_t>(run1("bit_shift", {x64, make<uint64_t>({2}, {63, 64})}, left)),
            (std::vector<uint64_t>{uint64_t{1} << 63, 0}));
  EXPECT_THROW(run1("bit_shift", {x, y}), Error); // direction is required
  EXPECT_THROW(run1("bit_shift", {i, i}, left), Error); // unsigned only
}

TEST(ElementwiseBinary, PRelu) {
  Tensor x = randomTensor({2, 3, 4, 5}, -2, 2, 9);
  // Unidirectional: the slope broadcasts to X, right-aligned.
  for (Shape slopeShape : {Shape{}, Shape{5}, Shape{3, 1, 1}, Shape{2, 3, 4, 5}}) {
    Tensor s = randomTensor(slopeShape, 0, 1, 10);
    Tensor out = run1("prelu", {x, s});
    EXPECT_EQ(out.shape(), x.shape());
    EXPECT_EQ(values<float>(out), (naiveBinary<float, float, float>(x, s, [](float v, float k) {
                return v < 0 ? k * v : v;
              })));
  }
  EXPECT_THROW(run1("prelu", {make<float>({3}, {1, 2, 3}), randomTensor({2, 3}, 0, 1)}), Error);
  EXPECT_THROW(run1("prelu", {x, randomTensor({3}, 0, 1)}), Error);
}

TEST(ElementwiseBinary, Errors) {
  Tensor a = randomTensor({2, 3}, 0, 1);
  EXPECT_THROW(run1("add", {a, randomTensor({2}, 0, 1)}), Error);
  EXPECT_THROW(run1("add", {a, make<double>({1}, {1.0})}), Error);
  EXPECT_THROW(run1("add", {a}), Error);
  EXPECT_THROW(run1("add", {boolTensor({1}, {1}), boolTensor({1}, {1})}), Error);
  Tensor h(DType::F16, {2});
  EXPECT_THROW(run1("add", {h, h}), Error);
  EXPECT_THROW(run1("relu", {h}), Error);
}

// ---------------------------------------------------------------------------
// Variadic, Where, Clip

TEST(ElementwiseVariadic, MaxMinSumMean) {
  // ONNX spec example (test_max_example / test_sum_example / test_mean_example).
  Tensor d0 = make<float>({3}, {3, 2, 1});
  Tensor d1 = make<float>({3}, {1, 4, 4});
  Tensor d2 = make<float>({3}, {2, 5, 0});
  EXPECT_EQ(values<float>(run1("max", {d0, d1, d2})), (std::vector<float>{3, 5, 4}));
  EXPECT_EQ(values<float>(run1("min", {d0, d1, d2})), (std::vector<float>{1, 2, 0}));
  EXPECT_EQ(values<float>(run1("sum", {d0, d1, d2})), (std::vector<float>{6, 11, 5}));
  EXPECT_EQ(values<float>(run1("mean", {d0, d1, d2})),
            (std::vector<float>{2, 11.0f / 3.0f, 5.0f / 3.0f}));
  EXPECT_EQ(values<float>(run1("sum", {d0})), values<float>(d0));
  EXPECT_EQ(values<float>(run1("mean", {d0})), values<float>(d0));

  // Three-way broadcast against the naive fold.
  Tensor a = randomTensor({3, 1, 4}, -1, 1, 1);
  Tensor b = randomTensor({5, 1}, -1, 1, 2);
  Tensor c = randomTensor({4}, -1, 1, 3);
  Tensor sum = run1("sum", {a, b, c});
  EXPECT_EQ(sum.shape(), (Shape{3, 5, 4}));
  Shape out{3, 5, 4};
  for (int64_t i = 0; i < 60; ++i) {
    float want = a.data<float>()[broadcastSource(a.shape(), out, i)] +
                 b.data<float>()[broadcastSource(b.shape(), out, i)];
    want += c.data<float>()[broadcastSource(c.shape(), out, i)];
    EXPECT_EQ(sum.data<float>()[i], want);
  }

  // NaN propagates from either side, as numpy.maximum.
  float nan = std::nanf("");
  auto m = values<float>(run1("max", {make<float>({2}, {nan, 1}), make<float>({2}, {1, nan})}));
  EXPECT_TRUE(std::isnan(m[0]) && std::isnan(m[1]));
  auto n = values<float>(run1("min", {make<float>({2}, {nan, 1}), make<float>({2}, {1, nan})}));
  EXPECT_TRUE(std::isnan(n[0]) && std::isnan(n[1]));

  EXPECT_EQ(values<int64_t>(run1("max", {make<int64_t>({2}, {-5, 7}), make<int64_t>({}, {0})})),
            (std::vector<int64_t>{0, 7}));
  EXPECT_THROW(run1("sum", {make<int32_t>({1}, {1})}), Error); // float only
  EXPECT_THROW(run1("max", {}), Error);
  EXPECT_THROW(run1("max", {d0, make<double>({3}, {1, 2, 3})}), Error);
  EXPECT_THROW(run1("max", {d0, randomTensor({2}, 0, 1)}), Error);
}

TEST(ElementwiseSelect, WhereBroadcastsThreeWays) {
  // Spec example test_where_broadcast.
  Tensor cond = boolTensor({2, 2}, {1, 0, 1, 1});
  Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  Tensor y = make<float>({2, 2}, {9, 8, 7, 6});
  EXPECT_EQ(values<float>(run1("where", {cond, x, y})), (std::vector<float>{1, 8, 3, 4}));

  Tensor c = boolTensor({3, 1, 2}, {1, 0, 0, 1, 1, 1});
  Tensor a = randomInts<int64_t>({4, 1}, -9, 9, 1);
  Tensor b = randomInts<int64_t>({3, 4, 2}, -9, 9, 2);
  Tensor out = run1("where", {c, a, b});
  Shape s{3, 4, 2};
  ASSERT_EQ(out.shape(), s);
  for (int64_t i = 0; i < 24; ++i) {
    bool k = c.data<bool>()[broadcastSource(c.shape(), s, i)];
    int64_t want = k ? a.data<int64_t>()[broadcastSource(a.shape(), s, i)]
                     : b.data<int64_t>()[broadcastSource(b.shape(), s, i)];
    EXPECT_EQ(out.data<int64_t>()[i], want) << i;
  }
  // Large, threaded.
  Tensor bigCond(DType::Bool, {300, 257});
  for (int64_t i = 0; i < bigCond.numel(); ++i)
    bigCond.mutableData<bool>()[i] = (i * 7919) % 3 == 0;
  Tensor bx = randomTensor({257}, -1, 1, 3), by = randomTensor({300, 1}, -1, 1, 4);
  auto one = values<float>(run1("where", {bigCond, bx, by}, {}, 1));
  auto many = values<float>(run1("where", {bigCond, bx, by}, {}, 4));
  EXPECT_EQ(one, many);
  EXPECT_EQ(one[1], by.data<float>()[0]);
  EXPECT_EQ(one[3], bx.data<float>()[3]);

  EXPECT_THROW(run1("where", {x, x, y}), Error);                       // cond not bool
  EXPECT_THROW(run1("where", {cond, x, make<double>({1}, {1})}), Error); // X/Y dtypes
  EXPECT_THROW(run1("where", {cond, x, randomTensor({3}, 0, 1)}), Error);
}

TEST(ElementwiseSelect, WhereEveryInnerStrideCombination) {
  // Each operand either runs along the inner dim or is broadcast over it:
  // all eight loops of the select.
  const Shape full{5, 37}, column{5, 1};
  for (int kind = 0; kind < 8; ++kind) {
    const Shape out = kind ? full : column;
    const Shape &cs = kind & 4 ? full : column, &as = kind & 2 ? full : column,
                &bs = kind & 1 ? full : column;
    Tensor c(DType::Bool, cs);
    for (int64_t i = 0; i < c.numel(); ++i)
      c.mutableData<bool>()[i] = (i * 31 + kind) % 3 == 0;
    Tensor a = randomTensor(as, -1, 1, 10 + kind), b = randomTensor(bs, 2, 3, 20 + kind);
    Tensor got = run1("where", {c, a, b});
    ASSERT_EQ(got.shape(), out);
    for (int64_t i = 0; i < got.numel(); ++i) {
      bool k = c.data<bool>()[broadcastSource(cs, out, i)];
      float want = k ? a.data<float>()[broadcastSource(as, out, i)]
                     : b.data<float>()[broadcastSource(bs, out, i)];
      ASSERT_EQ(got.data<float>()[i], want) << "kind " << kind << " at " << i;
    }
  }
}

TEST(ElementwiseSelect, Clip) {
  // Spec examples.
  Tensor x = make<float>({3}, {-2, 0, 2});
  EXPECT_EQ(values<float>(run1("clip", {x, scalar(-1.0f), scalar(1.0f)})),
            (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(values<float>(run1("clip", {x, Tensor(), scalar(0.5f)})),
            (std::vector<float>{-2, 0, 0.5f}));
  EXPECT_EQ(values<float>(run1("clip", {x, scalar(0.0f)})), (std::vector<float>{0, 0, 2}));
  EXPECT_EQ(values<float>(run1("clip", {x})), values<float>(x));
  // min > max: everything becomes max (numpy.clip).
  EXPECT_EQ(values<float>(run1("clip", {x, scalar(2.0f), scalar(1.0f)})),
            (std::vector<float>{1, 1, 1}));
  auto withNan = values<float>(run1("clip", {make<float>({1}, {std::nanf("")}), scalar(0.0f)}));
  EXPECT_TRUE(std::isnan(withNan[0]));
  Tensor i = make<int32_t>({4}, {-100, -1, 5, 100});
  EXPECT_EQ(values<int32_t>(run1("clip", {i, scalar<int32_t>(-2), scalar<int32_t>(10)})),
            (std::vector<int32_t>{-2, -1, 5, 10}));
  AttrMap legacy;
  legacy.set("min", -0.5f);
  legacy.set("max", 0.5f);
  EXPECT_EQ(values<float>(run1("clip", {x}, legacy)), (std::vector<float>{-0.5f, 0, 0.5f}));
  EXPECT_THROW(run1("clip", {x, make<float>({2}, {0, 1})}), Error);
  EXPECT_THROW(run1("clip", {x, scalar<int32_t>(0)}), Error);
}

// ---------------------------------------------------------------------------
// Cast

Tensor cast(const Tensor &x, DType to) {
  AttrMap attrs;
  attrs.set("to", static_cast<int64_t>(to));
  return run1("cast", {x}, attrs);
}

TEST(ElementwiseCast, Conversions) {
  float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  Tensor f = make<float>({7}, {1.9f, -1.9f, 0.0f, nan, inf, -inf, 3e9f});
  EXPECT_EQ(values<int32_t>(cast(f, DType::I32)),
            (std::vector<int32_t>{1, -1, 0, 0, std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::min(),
                                  std::numeric_limits<int32_t>::max()}));
  EXPECT_EQ(values<int64_t>(cast(f, DType::I64))[6], 3000000000);
  EXPECT_EQ(values<uint8_t>(cast(make<float>({3}, {-3.0f, 254.7f, 1e6f}), DType::U8)),
            (std::vector<uint8_t>{0, 254, 255}));
  EXPECT_EQ(values<bool>(cast(f, DType::Bool)), (std::vector<bool>{1, 1, 0, 1, 1, 1, 1}));
  Tensor b = boolTensor({3}, {1, 0, 1});
  EXPECT_EQ(values<float>(cast(b, DType::F32)), (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(values<int64_t>(cast(b, DType::I64)), (std::vector<int64_t>{1, 0, 1}));
  Tensor i = make<int32_t>({3}, {300, -1, 7});
  EXPECT_EQ(values<uint8_t>(cast(i, DType::U8)), (std::vector<uint8_t>{44, 255, 7}));
  EXPECT_EQ(values<double>(cast(i, DType::F64)), (std::vector<double>{300, -1, 7}));
  Tensor d = make<double>({2}, {0.1, 1e300});
  auto df = values<float>(cast(d, DType::F32));
  EXPECT_EQ(df[0], 0.1f);
  EXPECT_EQ(df[1], inf);
  EXPECT_EQ(values<float>(cast(f, DType::F32))[0], 1.9f); // same type

  // Large input, threaded.
  Tensor big = randomTensor({100000}, -1000, 1000, 5);
  auto bi = values<int16_t>(cast(big, DType::I16));
  for (int64_t k = 0; k < big.numel(); k += 997)
    EXPECT_EQ(bi[k], static_cast<int16_t>(std::trunc(big.data<float>()[k])));

  EXPECT_THROW(cast(f, DType::String), Error);
  AttrMap fp8;
  fp8.set("to", int64_t{17});
  EXPECT_THROW(run1("cast", {f}, fp8), Error);
  EXPECT_THROW(run1("cast", {f}), Error); // 'to' is required

  // float16 / bfloat16 through float: 1.9 -> 0x3F9A (half), 0x3FF3 (bf16); -2.5 and 1e6
  // (half overflow: inf) and back. numpy is the oracle for every value in
  // tests/e2e/test_half_models.py; these are the unit-level spot checks.
  Tensor g = make<float>({3}, {1.9f, -2.5f, 1e6f});
  Tensor h = cast(g, DType::F16), bf = cast(g, DType::BF16);
  ASSERT_EQ(h.dtype(), DType::F16);
  const auto *hb = static_cast<const uint16_t *>(h.rawData());
  const auto *bb = static_cast<const uint16_t *>(bf.rawData());
  EXPECT_EQ(hb[0], 0x3F9A);
  EXPECT_EQ(hb[1], 0xC100);
  EXPECT_EQ(hb[2], 0x7C00);
  EXPECT_EQ(bb[0], 0x3FF3);
  EXPECT_EQ(bb[1], 0xC020);
  auto back = values<float>(cast(h, DType::F32));
  EXPECT_FLOAT_EQ(back[0], 1.900390625f);
  EXPECT_EQ(back[1], -2.5f);
  EXPECT_EQ(back[2], inf);
  EXPECT_EQ(values<int64_t>(cast(bf, DType::I64))[1], -2); // half -> float -> integer
  EXPECT_EQ(values<int32_t>(cast(cast(make<int32_t>({1}, {3}), DType::BF16), DType::I32))[0], 3);
}

TEST(ElementwiseCast, CastLike) {
  Tensor f = make<float>({3}, {1.5f, -2.5f, 3.0f});
  Tensor out = run1("cast_like", {f, make<int64_t>({1}, {0})});
  EXPECT_EQ(out.dtype(), DType::I64);
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(run1("cast_like", {f, make<double>({}, {0})}).dtype(), DType::F64);
  EXPECT_EQ(run1("cast_like", {f, Tensor(DType::F16, {1})}).dtype(), DType::F16);
}

} // namespace
