//===- fuzz_datasets.cpp - tensor files through every dataset reader ------===//
//
// The input is one tensor file; the harness stores it as x.npy, x.npz and
// set/input_0.pb and hands each to the readers that take that form:
//   calibrate/TensorIO   readNpy, readNpz (with zlib), readTensorProto, readTestDataSet
//   runtime NpyIO        rt::readNpy, rt::readNpz (no inflater, as the runner)
//   pipeline/Samples     loadLabels, and loadSamples against specs derived from
//                        what was read (dynamic and fixed batch) plus fixed specs
//                        of the samples (digits x[?,1,8,8] f32, lm tokens[?,?] i64)
// Every tensor handed back is read in full so a wrong size is an ASan report.
// The readers' errors (IoError, rt::Error, ToolError) are expected outcomes.
//
//===----------------------------------------------------------------------===//
#include "FuzzSupport.h"

#include "calibrate/TensorIO.h"
#include "pipeline/Samples.h"

#include <exception>

namespace {

namespace rt = ds::rt;
using ds::exec::TensorSpec;

uint64_t touchTensor(const rt::Tensor &t) {
  if (t.isAbsent() || t.dtype() == rt::DType::String)
    return 0;
  return ds::fuzz::touch(t.rawData(), t.byteSize());
}

/// One spec per tensor: its name, dtype and dims, with the leading dim made
/// dynamic or pinned to `batch` (which the rows must split into).
std::vector<TensorSpec> specsFor(const std::vector<rt::NamedTensor> &tensors, int64_t batch) {
  std::vector<TensorSpec> specs;
  for (const auto &nt : tensors) {
    TensorSpec s{nt.name, nt.tensor.dtype(), true, nt.tensor.shape()};
    if (!s.dims.empty())
      s.dims[0] = batch;
    specs.push_back(std::move(s));
  }
  return specs;
}

void samples(const std::string &path, const std::vector<TensorSpec> &specs) {
  try {
    ds::pipeline::SampleSet set = ds::pipeline::loadSamples(path, specs);
    for (const auto &sample : set.samples) {
      for (const auto &t : sample)
        touchTensor(t);
      ds::pipeline::nonFinite(sample, specs);
    }
  } catch (const std::exception &e) {
    ds::fuzz::note(e.what());
  }
}

/// loadSamples against derived specs (dynamic batch, then batch 2) and the fixed ones.
void allSamples(const std::string &path, const std::vector<rt::NamedTensor> &read,
                const std::vector<std::vector<TensorSpec>> &fixed) {
  if (!read.empty()) {
    samples(path, specsFor(read, -1));
    samples(path, specsFor(read, 2));
  }
  for (const auto &specs : fixed)
    samples(path, specs);
}

template <typename F> void expectErrors(F &&body) {
  try {
    body();
  } catch (const std::exception &e) {
    ds::fuzz::note(e.what());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ds::fuzz::TempDir dir("datasets");
  static const std::vector<std::vector<TensorSpec>> fixed = {
      {{"x", rt::DType::F32, true, {-1, 1, 8, 8}}},
      {{"tokens", rt::DType::I64, true, {-1, -1}}},
  };

  std::string npy = dir.write("x.npy", data, size);
  std::vector<rt::NamedTensor> fromNpy;
  expectErrors([&] { fromNpy.push_back({"x", ds::io::readNpy(npy)}); });
  expectErrors([&] { touchTensor(rt::readNpy(npy)); });
  expectErrors([&] { touchTensor(ds::pipeline::loadLabels(npy).ids); });
  for (const auto &nt : fromNpy)
    touchTensor(nt.tensor);
  allSamples(npy, fromNpy, fixed);

  std::string npz = dir.write("x.npz", data, size);
  std::vector<rt::NamedTensor> fromNpz;
  expectErrors([&] { fromNpz = ds::io::readNpz(npz); });
  expectErrors([&] {
    for (const auto &nt : rt::readNpz(npz))
      touchTensor(nt.tensor);
  });
  for (const auto &nt : fromNpz)
    touchTensor(nt.tensor);
  allSamples(npz, fromNpz, fixed);

  std::string pb = dir.write("set/input_0.pb", data, size);
  std::string set = (dir.path() / "set").string();
  std::vector<rt::NamedTensor> fromPb;
  expectErrors([&] { touchTensor(ds::io::readTensorProto(pb).tensor); });
  expectErrors([&] { fromPb = ds::io::readTestDataSet(set, "input"); });
  for (const auto &nt : fromPb)
    touchTensor(nt.tensor);
  allSamples(set, fromPb, fixed);
  return 0;
}
