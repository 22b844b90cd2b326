//===- Generation.cpp - the prefill/decode loop and its graph signature ---===//
#include "ds/runtime/Generation.h"

#include "ds/runtime/numerics/Half.h"

#include <chrono>
#include <cstring>
#include <string>

namespace ds::rt {

namespace {

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// The output names that exporters give the new cache of input `past`.
std::vector<std::string> presentNamesFor(const std::string &past) {
  std::vector<std::string> names;
  for (const char *prefix : {"past_key_values", "past"})
    if (startsWith(past, prefix))
      names.push_back("present" + past.substr(std::strlen(prefix)));
  return names;
}

std::optional<size_t> indexOf(const std::vector<ValueSpec> &specs, const std::string &name) {
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name)
      return i;
  return std::nullopt;
}

std::string specText(const ValueSpec &s) {
  std::string dims;
  for (int64_t d : s.dims)
    dims += (dims.empty() ? "" : ", ") + (d < 0 ? std::string("?") : std::to_string(d));
  return std::string(dtypeName(s.dtype)) + " [" + dims + "]";
}

bool isTokenMatrix(const ValueSpec &s) {
  return s.ranked && s.dims.size() == 2 && (s.dtype == DType::I64 || s.dtype == DType::I32);
}

/// A [1, n] tensor of `dtype` (int64 or int32) holding `values`.
Tensor intRow(DType dtype, const std::vector<int64_t> &values) {
  Tensor t(dtype, {1, static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::I32)
      t.mutableData<int32_t>()[i] = static_cast<int32_t>(values[i]);
    else
      t.mutableData<int64_t>()[i] = values[i];
  }
  return t;
}

} // namespace

GenerationSignature GenerationSignature::find(const std::vector<ValueSpec> &inputs,
                                              const std::vector<ValueSpec> &outputs) {
  GenerationSignature sig;
  std::optional<size_t> tokens;
  std::vector<bool> placed(inputs.size(), false), used(outputs.size(), false);
  auto take = [&](const char *name) -> std::optional<size_t> {
    auto i = indexOf(inputs, name);
    if (i && !isTokenMatrix(inputs[*i]))
      throw Error("input '" + std::string(name) + "' is " + specText(inputs[*i]) +
                  "; generation needs int64 [batch, n]");
    if (i)
      placed[*i] = true;
    return i;
  };
  tokens = take("input_ids");
  if (!tokens) // a graph with one integer [batch, seq] input: that is the tokens
    for (size_t i = 0; i < inputs.size(); ++i)
      if (isTokenMatrix(inputs[i]) && inputs[i].name.find("past") == std::string::npos) {
        if (tokens)
          throw Error("inputs '" + inputs[*tokens].name + "' and '" + inputs[i].name +
                      "' could both be the token ids; name the token input 'input_ids'");
        tokens = i;
      }
  if (!tokens)
    throw Error("no token input: generation needs an int64 [batch, seq] input named 'input_ids'");
  placed[*tokens] = true;
  sig.tokens = *tokens;
  const ValueSpec &tok = inputs[*tokens];
  if (tok.dims[0] > 1 || tok.dims[1] == 0)
    throw Error("input '" + tok.name + "' is " + specText(tok) + ": generation runs batch 1");
  sig.oneTokenPerRun = tok.dims[1] == 1;
  sig.attentionMask = take("attention_mask");
  sig.positions = take("position_ids");

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (placed[i])
      continue;
    const ValueSpec &in = inputs[i];
    std::optional<size_t> out;
    for (const std::string &name : presentNamesFor(in.name))
      if (!out)
        out = indexOf(outputs, name);
    if (!out)
      throw Error("input '" + in.name + "' (" + specText(in) +
                  ") has no part in generation: expected input_ids, attention_mask, "
                  "position_ids or a KV cache past_* with a present_* output");
    if (!in.ranked || in.dims.size() < 2)
      throw Error("cache input '" + in.name + "' is " + specText(in) +
                  "; a KV cache needs [batch, ..., seq, ...]");
    Cache c;
    c.input = i;
    c.output = *out;
    c.dtype = in.dtype == DType::Undefined ? DType::F32 : in.dtype;
    c.seqAxis = -1;
    for (size_t d = in.dims.size(); d-- > 1;)
      if (in.dims[d] < 0 && c.seqAxis < 0)
        c.seqAxis = static_cast<int64_t>(d);
    if (c.seqAxis < 0)
      throw Error("cache input '" + in.name + "' is " + specText(in) +
                  ": no dynamic dim for the sequence to grow along");
    for (size_t d = 0; d < in.dims.size(); ++d) {
      int64_t dim = in.dims[d];
      if (d == 0)
        dim = 1;
      else if (static_cast<int64_t>(d) == c.seqAxis)
        dim = 0;
      else if (dim < 0)
        throw Error("cache input '" + in.name + "' is " + specText(in) + ": dim " +
                    std::to_string(d) + " is dynamic, so an empty cache has no shape");
      c.emptyDims.push_back(dim);
    }
    placed[i] = used[*out] = true;
    sig.cache.push_back(std::move(c));
  }
  if (sig.oneTokenPerRun && sig.cache.empty())
    throw Error("input '" + tok.name + "' takes one token and the graph has no KV cache: "
                "it cannot see the tokens before");

  std::optional<size_t> logits = indexOf(outputs, "logits");
  if (!logits)
    for (size_t i = 0; i < outputs.size(); ++i)
      if (!used[i] && !logits)
        logits = i;
  if (!logits)
    throw Error("no logits output: generation needs a float [batch, seq, vocab] output 'logits'");
  const ValueSpec &l = outputs[*logits];
  if (l.ranked && (l.dims.size() < 2 || l.dims.size() > 3))
    throw Error("output '" + l.name + "' is " + specText(l) +
                "; logits must be [batch, seq, vocab] or [batch, vocab]");
  sig.logits = *logits;
  return sig;
}

Generator::Generator(StepFn step, const std::vector<ValueSpec> &inputs,
                     const std::vector<ValueSpec> &outputs)
    : step_(std::move(step)), sig_(GenerationSignature::find(inputs, outputs)),
      numInputs_(inputs.size()) {
  tokenType_ = inputs[sig_.tokens].dtype == DType::I32 ? DType::I32 : DType::I64;
  const ValueSpec &l = outputs[sig_.logits];
  if (l.ranked && !l.dims.empty() && l.dims.back() > 0)
    vocab_ = l.dims.back();
}

const float *Generator::run(const int64_t *tokens, int64_t count, int64_t pos, int64_t &vocab) {
  inputs_.resize(numInputs_);
  std::vector<int64_t> ids(tokens, tokens + count), positions(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    positions[static_cast<size_t>(i)] = pos + i;
  inputs_[sig_.tokens] = intRow(tokenType_, ids);
  if (sig_.attentionMask)
    inputs_[*sig_.attentionMask] = intRow(DType::I64, std::vector<int64_t>(static_cast<size_t>(pos + count), 1));
  if (sig_.positions)
    inputs_[*sig_.positions] = intRow(DType::I64, positions);
  outputs_ = step_(inputs_);
  DS_CHECK(outputs_.size() > sig_.logits, "the model returned fewer outputs than it declares");
  // The new cache is the next run's past: moved, not copied.
  for (const auto &c : sig_.cache)
    inputs_[c.input] = std::move(outputs_[c.output]);
  const Tensor &logits = outputs_[sig_.logits];
  const DType dt = logits.dtype();
  DS_CHECK((dt == DType::F32 || dt == DType::F16 || dt == DType::BF16) &&
               (logits.rank() == 2 || logits.rank() == 3),
           "logits must be float [batch, seq, vocab] or [batch, vocab], got " +
               std::string(dtypeName(dt)) + " " + shapeToString(logits.shape()));
  vocab = logits.shape().back();
  int64_t rows = logits.numel() / std::max<int64_t>(vocab, 1);
  DS_CHECK(vocab > 0 && rows >= 1, "logits " + shapeToString(logits.shape()) + " hold no scores");
  if (dt == DType::F32)
    return logits.data<float>() + (rows - 1) * vocab;
  // A half-precision model's last row, widened for the sampler.
  const auto *bits = static_cast<const uint16_t *>(logits.rawData()) + (rows - 1) * vocab;
  lastRow_.resize(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i)
    lastRow_[static_cast<size_t>(i)] = dt == DType::F16 ? numerics::halfToFloat(bits[i])
                                                        : numerics::bf16ToFloat(bits[i]);
  return lastRow_.data();
}

std::vector<int64_t> Generator::generate(const std::vector<int64_t> &prompt,
                                         const GenerationOptions &options, const TokenFn &onToken,
                                         GenerationStats *stats) {
  DS_CHECK(!prompt.empty(), "the prompt is empty: give at least one token (e.g. BOS)");
  DS_CHECK(options.maxNewTokens >= 0, "the number of tokens to generate must be >= 0");
  Sampler sampler(options.sampling);
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a) {
    return std::chrono::duration<double>(Clock::now() - a).count();
  };
  inputs_.assign(numInputs_, Tensor());
  for (const auto &c : sig_.cache)
    inputs_[c.input] = Tensor(c.dtype, Shape(c.emptyDims.begin(), c.emptyDims.end()));
  GenerationStats local;
  local.promptTokens = static_cast<int64_t>(prompt.size());
  std::vector<int64_t> sequence = prompt, generated;
  if (options.maxNewTokens == 0) {
    if (stats)
      *stats = local;
    return generated;
  }
  int64_t vocab = 0;
  auto start = Clock::now();
  const float *logits = nullptr;
  if (sig_.oneTokenPerRun) {
    for (size_t i = 0; i < prompt.size(); ++i)
      logits = run(&prompt[i], 1, static_cast<int64_t>(i), vocab);
  } else {
    logits = run(prompt.data(), static_cast<int64_t>(prompt.size()), 0, vocab);
  }
  int64_t token = sampler.next(logits, vocab);
  local.prefillSeconds = seconds(start);
  start = Clock::now();
  while (true) {
    generated.push_back(token);
    sequence.push_back(token);
    bool more = !onToken || onToken(token);
    if (!more || options.stopTokens.count(token) ||
        static_cast<int64_t>(generated.size()) >= options.maxNewTokens)
      break;
    int64_t pos = static_cast<int64_t>(sequence.size()) - 1;
    logits = sig_.cache.empty() ? run(sequence.data(), pos + 1, 0, vocab)
                                : run(&sequence.back(), 1, pos, vocab);
    token = sampler.next(logits, vocab);
  }
  local.decodeSeconds = seconds(start);
  local.generatedTokens = static_cast<int64_t>(generated.size());
  if (stats)
    *stats = local;
  return generated;
}

} // namespace ds::rt
