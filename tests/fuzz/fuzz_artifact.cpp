//===- fuzz_artifact.cpp - manifest.json through the artifact open path ---===//
//
// The input is an artifact's manifest.json. It is placed in an artifact
// directory that also holds the fixture's weights.bin (tests/artifact: W f32
// [4,3] at 0, b f32 [3] at 64, 128 bytes) and a stand-in lib/libds_model.so,
// and then goes through:
//   - artifact::readManifest, and rt::WeightsView::open + tensor() for every
//     tensor entry it lists (each borrowed tensor read in full);
//   - the C API: ds_model_open (manifest, weights size + SHA-256, graph digest,
//     the generated buildProgram: here tests/artifact/fixture_model.cpp, linked
//     in), the introspection calls, and, when it opens, ds_model_run on zeros.
// seeds/artifact/fixture_manifest.json is the manifest that opens.
// ManifestError / rt::Error / a non-OK ds_status are expected outcomes.
//
//===----------------------------------------------------------------------===//
#include "FuzzSupport.h"

#include "Manifest.h"
#include "ds/runtime/Weights.h"
#include "ds_runtime.h"

#include <cstring>
#include <exception>
#include <vector>

namespace {

namespace rt = ds::rt;

/// Everything of the artifact directory but manifest.json (written per input).
void populate(const ds::fuzz::TempDir &dir) {
  // The fixture's weights (make_fixture.cpp): multiples of 1/4, b at offset 64.
  std::vector<uint8_t> weights(128, 0);
  float w[12], b[3] = {0.5f, -1.0f, 0.25f};
  for (int i = 0; i < 12; ++i)
    w[i] = static_cast<float>(i - 5) * 0.25f;
  std::memcpy(weights.data(), w, sizeof w);
  std::memcpy(weights.data() + 64, b, sizeof b);
  dir.write("weights.bin", weights.data(), weights.size());
  // Only hashed and checked for presence by the runtime (the fixture code is linked in).
  static const char kLibrary[] = "ds-fuzz stand-in for lib/libds_model.so\n";
  dir.write("lib/libds_model.so", reinterpret_cast<const uint8_t *>(kLibrary), sizeof kLibrary - 1);
  static const char kRunner[] = "ds-fuzz stand-in for bin/ds-model-run\n";
  dir.write("bin/ds-model-run", reinterpret_cast<const uint8_t *>(kRunner), sizeof kRunner - 1);
}

void viaManifestReader(const std::string &dir) {
  try {
    ds::artifact::Manifest m = ds::artifact::readManifest(dir);
    rt::WeightsView weights = rt::WeightsView::open(dir + "/" + m.weightsFile);
    for (const auto &t : m.tensors) {
      try {
        rt::Tensor view = weights.tensor(t.offset, t.dtype, t.shape);
        ds::fuzz::touch(view.rawData(), view.byteSize());
      } catch (const std::exception &e) {
        ds::fuzz::note(e.what());
      }
    }
  } catch (const std::exception &e) {
    ds::fuzz::note(e.what());
  }
}

void viaCApi(const std::string &dir) {
  ds_model_options options;
  ds_model_options_init(&options);
  options.num_threads = 1;
  ds_model *model = nullptr;
  if (ds_model_open(dir.c_str(), &options, &model) != DS_OK) {
    ds::fuzz::note(ds_last_error());
    return;
  }
  // Zeros of the declared types, dynamic dims as 1.
  std::vector<std::vector<int64_t>> dims(ds_model_num_inputs(model));
  std::vector<std::vector<uint8_t>> buffers(dims.size());
  std::vector<ds_tensor> inputs(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    ds_value_info info;
    if (ds_model_input_info(model, i, &info) != DS_OK)
      std::abort(); // an index below num_inputs must work
    size_t numel = 1;
    for (size_t d = 0; d < info.rank; ++d) {
      dims[i].push_back(info.dims[d] < 0 ? 1 : info.dims[d]);
      numel *= static_cast<size_t>(dims[i].back());
    }
    buffers[i].assign(numel * ds_dtype_size(info.dtype), 0);
    inputs[i] = {info.dtype, info.rank, dims[i].data(), buffers[i].data(), buffers[i].size()};
  }
  for (size_t i = 0; i < ds_model_num_outputs(model); ++i) {
    ds_value_info info;
    if (ds_model_output_info(model, i, &info) != DS_OK)
      std::abort();
  }
  ds_tensors *outputs = nullptr;
  if (ds_model_run(model, inputs.data(), inputs.size(), &outputs) != DS_OK) {
    ds::fuzz::note(ds_last_error());
  } else {
    ds::fuzz::note("(opened and ran)");
    for (size_t i = 0; i < ds_tensors_count(outputs); ++i) {
      const ds_tensor *t = ds_tensors_get(outputs, i);
      ds::fuzz::touch(t->data, t->byte_size);
    }
    ds_tensors_release(outputs);
  }
  ds_model_release(model);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const ds::fuzz::TempDir &dir = []() -> const ds::fuzz::TempDir & {
    static ds::fuzz::TempDir d("artifact");
    populate(d);
    return d;
  }();
  dir.write("manifest.json", data, size);
  viaManifestReader(dir.path().string());
  viaCApi(dir.path().string());
  return 0;
}
