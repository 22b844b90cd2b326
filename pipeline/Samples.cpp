//===- Samples.cpp --------------------------------------------------------===//
#include "pipeline/Samples.h"

#include <optional>

#include "tools/support/ToolSupport.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

namespace fs = std::filesystem;
using ds::tools::ToolError;

namespace ds::pipeline {

namespace {

/// Rows [begin, end) of `t` along axis 0 (a copy).
rt::Tensor rows(const rt::Tensor &t, int64_t begin, int64_t end) {
  rt::Shape shape = t.shape();
  int64_t total = shape[0];
  shape[0] = end - begin;
  rt::Tensor out(t.dtype(), shape);
  size_t rowBytes = total ? t.byteSize() / static_cast<size_t>(total) : 0;
  std::memcpy(out.mutableRawData(), static_cast<const char *>(t.rawData()) + rowBytes * begin,
              rowBytes * static_cast<size_t>(end - begin));
  return out;
}

/// Splits one file's tensors (in input order) into samples.
void splitIntoSamples(const std::string &file, const std::vector<rt::Tensor> &tensors,
                      const std::vector<exec::TensorSpec> &inputs, SampleSet &set) {
  // Decide the batch: every input with rank >= 1 must agree on the leading dim.
  int64_t total = -1, batch = -1;
  bool fixedBatch = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto &spec = inputs[i];
    const rt::Tensor &t = tensors[i];
    if (!spec.ranked || spec.dims.empty())
      continue;
    if (t.rank() != static_cast<int64_t>(spec.dims.size()))
      throw ToolError(file + ": tensor '" + spec.name + "' has shape " +
                      rt::shapeToString(t.shape()) + ", the model expects " + spec.toString());
    if (total < 0)
      total = t.dim(0);
    else if (t.dim(0) != total)
      throw ToolError(file + ": tensor '" + spec.name + "' has " + std::to_string(t.dim(0)) +
                      " rows, the other inputs " + std::to_string(total));
    fixedBatch = fixedBatch || spec.dims[0] >= 0;
    int64_t b = spec.dims[0] < 0 ? std::min(kDynamicBatch, std::max<int64_t>(total, 1)) : spec.dims[0];
    if (spec.dims[0] < 0 && !spec.maxDims.empty() && spec.maxDims[0] > 0)
      b = std::min(b, spec.maxDims[0]); // --max-shape bounds the batch the model accepts
    batch = batch < 0 ? b : std::min(batch, b);
  }
  if (total <= 0 || batch <= 0) {
    if (total == 0)
      throw ToolError(file + ": holds no samples (leading dimension 0)");
    set.samples.push_back(tensors);
    set.files.push_back(file);
    return;
  }
  // An empty tensor is a valid input (an empty KV cache is how generation
  // starts), but a file whose rows are all empty ([N, 0, ...]) holds nothing to
  // run, and N can be anything its 15-byte header claims: refuse it rather than
  // make N samples. One input with values bounds N by its real bytes.
  std::optional<size_t> firstEmpty;
  bool anyValues = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].ranked || inputs[i].dims.empty())
      continue;
    if (tensors[i].numel() == 0)
      firstEmpty = firstEmpty.value_or(i);
    else
      anyValues = true;
  }
  if (firstEmpty && !anyValues)
    throw ToolError(file + ": tensor '" + inputs[*firstEmpty].name + "' has shape " +
                    rt::shapeToString(tensors[*firstEmpty].shape()) +
                    ": its rows hold no values (and no other input has any)");
  if (fixedBatch && total % batch != 0)
    throw ToolError(file + ": " + std::to_string(total) + " rows do not split into batches of " +
                    std::to_string(batch) + " (the model's fixed batch size)");
  for (int64_t begin = 0; begin < total; begin += batch) {
    std::vector<rt::Tensor> sample;
    for (size_t i = 0; i < inputs.size(); ++i)
      sample.push_back(inputs[i].ranked && !inputs[i].dims.empty()
                           ? rows(tensors[i], begin, std::min(total, begin + batch))
                           : tensors[i]);
    set.samples.push_back(std::move(sample));
    set.files.push_back(file);
  }
}

/// Checks a split sample against the specs (dims other than the batch).
void checkSample(const std::string &file, const std::vector<rt::Tensor> &sample,
                 const std::vector<exec::TensorSpec> &inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string why = inputs[i].mismatch(sample[i]);
    if (!why.empty())
      throw ToolError(file + ": tensor '" + inputs[i].name + "': " + why);
  }
}

/// Reads a file's tensors in input order without the batch check of bindInputs.
std::vector<rt::Tensor> readFile(const std::string &path, const std::vector<exec::TensorSpec> &inputs) {
  // bindInputs checks names, dtypes and rank/fixed dims against the specs, but a
  // file may hold many samples along a fixed batch dim: relax dim 0 for it.
  std::vector<exec::TensorSpec> relaxed = inputs;
  for (auto &spec : relaxed)
    if (spec.ranked && !spec.dims.empty())
      spec.dims[0] = -1;
  return tools::bindInputs(path, relaxed);
}

} // namespace

SampleSet loadSamples(const std::string &path, const std::vector<exec::TensorSpec> &inputs) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw ToolError(path + ": no such file or directory");
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "input_0.pb"))
      files.push_back(path);
    for (const auto &entry : fs::directory_iterator(path)) {
      std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("test_data_set_", 0) == 0) {
        files.push_back(entry.path().string());
      } else if (entry.is_regular_file() &&
                 (entry.path().extension() == ".npz" || entry.path().extension() == ".npy")) {
        files.push_back(entry.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw ToolError(path + ": holds no .npz, .npy or test_data_set_* samples");
  } else {
    files.push_back(path);
  }
  SampleSet set;
  for (const auto &file : files) {
    size_t before = set.samples.size();
    splitIntoSamples(file, readFile(file, inputs), inputs, set);
    for (size_t i = before; i < set.samples.size(); ++i)
      checkSample(file, set.samples[i], inputs);
  }
  return set;
}

Labels loadLabels(const std::string &path) {
  rt::Tensor t = io::readNpy(path);
  if (t.rank() != 1 || (t.dtype() != rt::DType::I64 && t.dtype() != rt::DType::I32))
    throw ToolError(path + ": labels must be a 1-D int64 or int32 array, got " +
                    rt::dtypeName(t.dtype()) + " " + rt::shapeToString(t.shape()));
  return {t, path};
}

std::pair<int64_t, std::string> nonFinite(const std::vector<rt::Tensor> &sample,
                                          const std::vector<exec::TensorSpec> &inputs) {
  int64_t count = 0;
  std::string first;
  for (size_t i = 0; i < sample.size(); ++i) {
    if (sample[i].dtype() != rt::DType::F32)
      continue;
    const float *v = sample[i].data<float>();
    int64_t n = 0;
    for (int64_t j = 0; j < sample[i].numel(); ++j)
      n += !std::isfinite(v[j]);
    if (n && first.empty())
      first = inputs[i].name;
    count += n;
  }
  return {count, first};
}

} // namespace ds::pipeline
