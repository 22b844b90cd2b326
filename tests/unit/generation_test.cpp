// The generation loop (ds/runtime/Generation.h) over a toy step function whose
// logits are known, and the sampler: greedy, seeded sampling, top-k/top-p, the
// graph signatures of the exporters, the cache fed back, and the errors.
#include "ds/runtime/Generation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace ds::rt {
namespace {

ValueSpec spec(const std::string &name, DType dtype, std::vector<int64_t> dims) {
  ValueSpec s;
  s.name = name;
  s.dtype = dtype;
  s.ranked = true;
  s.dims = std::move(dims);
  return s;
}

/// An Optimum-style decoder-with-past over a vocabulary of 8: the next token
/// is (last token + cache length + 1) % 8, as a one-hot logit row; the cache
/// gains one [1, 2, n, 4] entry per token.
struct ToyDecoder {
  std::vector<ValueSpec> inputs{spec("input_ids", DType::I64, {-1, -1}),
                                spec("attention_mask", DType::I64, {-1, -1}),
                                spec("position_ids", DType::I64, {-1, -1}),
                                spec("past_key_values.0.key", DType::F32, {-1, 2, -1, 4})};
  std::vector<ValueSpec> outputs{spec("logits", DType::F32, {-1, -1, 8}),
                                 spec("present.0.key", DType::F32, {-1, 2, -1, 4})};
  std::vector<int64_t> seenPast, seenMask, seenFirstPosition;

  std::vector<Tensor> operator()(std::vector<Tensor> &in) {
    const Tensor &ids = in[0], &mask = in[1], &pos = in[2], &past = in[3];
    int64_t n = ids.dim(1), p = past.dim(2);
    seenPast.push_back(p);
    seenMask.push_back(mask.dim(1));
    seenFirstPosition.push_back(pos.data<int64_t>()[0]);
    Tensor logits(DType::F32, {1, n, 8});
    for (int64_t i = 0; i < n; ++i)
      logits.mutableData<float>()[i * 8 + (ids.data<int64_t>()[i] + p + i + 1) % 8] = 1.0f;
    Tensor present(DType::F32, {1, 2, p + n, 4});
    return {logits, present};
  }
};

TEST(Generation, DecoderWithPastFeedsTheCacheBackAndFillsMaskAndPositions) {
  ToyDecoder toy;
  Generator g([&](std::vector<Tensor> &in) { return toy(in); }, toy.inputs, toy.outputs);
  EXPECT_EQ(g.signature().cache.size(), 1u);
  EXPECT_EQ(g.signature().cache[0].seqAxis, 2);
  GenerationOptions o;
  o.maxNewTokens = 4;
  GenerationStats stats;
  std::vector<int64_t> streamed;
  auto tokens = g.generate({3, 5}, o, [&](int64_t t) { streamed.push_back(t); return true; }, &stats);
  // Prefill [3, 5] at positions 0-1: next = (5 + 0 + 1 + 1) % 8 = 7; then each
  // step adds the cache length (2, 3, 4) + 1.
  EXPECT_EQ(tokens, (std::vector<int64_t>{7, 2, 6, 3}));
  EXPECT_EQ(streamed, tokens);
  EXPECT_EQ(toy.seenPast, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(toy.seenMask, (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(toy.seenFirstPosition, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(stats.promptTokens, 2);
  EXPECT_EQ(stats.generatedTokens, 4);
}

TEST(Generation, StopTokensAndTheCallbackEndGeneration) {
  ToyDecoder toy;
  Generator g([&](std::vector<Tensor> &in) { return toy(in); }, toy.inputs, toy.outputs);
  GenerationOptions o;
  o.maxNewTokens = 10;
  o.stopTokens = {2};
  EXPECT_EQ(g.generate({3, 5}, o), (std::vector<int64_t>{7, 2}));
  o.stopTokens.clear();
  int calls = 0;
  EXPECT_EQ(g.generate({3, 5}, o, [&](int64_t) { return ++calls < 3; }).size(), 3u);
}

TEST(Generation, OneTokenInputsRunThePromptTokenByToken) {
  ToyDecoder toy;
  toy.inputs = {spec("input_ids", DType::I64, {1, 1}), spec("past_key_0", DType::F32, {1, 2, -1, 4})};
  toy.outputs = {spec("logits", DType::F32, {1, 1, 8}), spec("present_key_0", DType::F32, {1, 2, -1, 4})};
  std::vector<int64_t> past;
  Generator g(
      [&](std::vector<Tensor> &in) {
        past.push_back(in[1].dim(2));
        Tensor logits(DType::F32, {1, 1, 8});
        logits.mutableData<float>()[(in[0].data<int64_t>()[0] + 1) % 8] = 1.0f;
        return std::vector<Tensor>{logits, Tensor(DType::F32, {1, 2, in[1].dim(2) + 1, 4})};
      },
      toy.inputs, toy.outputs);
  EXPECT_TRUE(g.signature().oneTokenPerRun);
  GenerationOptions o;
  o.maxNewTokens = 2;
  EXPECT_EQ(g.generate({1, 2, 3}, o), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(past, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(Generation, SignaturesThatCannotGenerateSayWhy) {
  auto expectError = [](std::vector<ValueSpec> in, std::vector<ValueSpec> out, const char *text) {
    try {
      GenerationSignature::find(in, out);
      FAIL() << "expected an error mentioning " << text;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  auto logits = spec("logits", DType::F32, {1, -1, 8});
  expectError({spec("x", DType::F32, {1, 4})}, {logits}, "no token input");
  expectError({spec("input_ids", DType::I64, {1, -1}), spec("seqlens_k", DType::I32, {1})}, {logits},
              "'seqlens_k'");
  expectError({spec("input_ids", DType::I64, {1, -1}), spec("past_key_values.0.key", DType::F32, {1, -1, -1, 4})},
              {logits, spec("present.0.key", DType::F32, {1, -1, -1, 4})}, "dim 1 is dynamic");
  expectError({spec("input_ids", DType::I64, {1, 1})}, {logits}, "no KV cache");
  expectError({spec("input_ids", DType::I64, {4, -1})}, {logits}, "batch 1");
}

TEST(Sampler, GreedyTakesTheFirstMaximumAndSkipsNonFinite) {
  Sampler s({});
  float logits[] = {1.0f, NAN, 3.0f, 3.0f, INFINITY};
  EXPECT_EQ(s.next(logits, 5), 2);
  float none[] = {NAN, INFINITY};
  EXPECT_THROW(s.next(none, 2), Error);
}

TEST(Sampler, SeededSamplingIsRepeatableAndFollowsTheDistribution) {
  float logits[] = {0.0f, 1.0f, 2.0f, 3.0f};
  SamplingOptions o;
  o.temperature = 1.0f;
  o.seed = 42;
  Sampler a(o), b(o);
  std::map<int64_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    int64_t t = a.next(logits, 4);
    EXPECT_EQ(t, b.next(logits, 4));
    ++counts[t];
  }
  // softmax(0..3) = 0.032, 0.087, 0.237, 0.644
  EXPECT_NEAR(counts[3] / 4000.0, 0.644, 0.03);
  EXPECT_NEAR(counts[0] / 4000.0, 0.032, 0.015);
  o.topK = 1; // only the best token is left
  Sampler k(o);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(k.next(logits, 4), 3);
  o.topK = 0;
  o.topP = 0.7f; // 0.644 + 0.237 >= 0.7: the two best
  Sampler p(o);
  for (int i = 0; i < 200; ++i)
    EXPECT_GE(p.next(logits, 4), 2);
}

TEST(Sampler, RejectsBadOptions) {
  SamplingOptions o;
  o.temperature = -1.0f;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.topP = 0.0f;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.topK = -2;
  EXPECT_THROW(Sampler{o}, Error);
}

} // namespace
} // namespace ds::rt
