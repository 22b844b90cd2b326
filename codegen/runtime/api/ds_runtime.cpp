//===- ds_runtime.cpp - the C API over Program + WeightsView --------------===//
//
// Implements ds_runtime.h. Every entry point catches everything: exceptions
// become a status plus the thread-local one-line message. The checks in
// ds_model_open run in the order the format documents (manifest, weights size
// and SHA-256, graph digest, then the generated buildProgram), so no weight is
// read before it is known to be the one the compiler wrote.
//
//===----------------------------------------------------------------------===//
#include "ds_runtime.h"

#include "Manifest.h"
#include "ds/runtime/Generated.h"
#include "ds/runtime/Generation.h"
#include "ds/runtime/Program.h"
#include "ds/runtime/Sha256.h"
#include "ds/runtime/ThreadPool.h"
#include "ds/runtime/Weights.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace rt = ds::rt;
namespace art = ds::artifact;

struct ds_model {
  art::Manifest manifest;
  rt::WeightsView weights;
  rt::Program program;
  std::unique_ptr<rt::ThreadPool> pool;
  std::mutex runMutex; // Program::run is one-at-a-time
  std::vector<std::vector<int64_t>> inputDims, outputDims;
};

struct ds_tensors {
  std::vector<rt::Tensor> values;
  std::vector<ds_tensor> views;
};

namespace {

thread_local std::string lastError;

/// A failure with the status it maps to.
struct ApiError {
  ds_status status;
  std::string message;
};

[[noreturn]] void fail(ds_status status, std::string message) {
  throw ApiError{status, std::move(message)};
}

/// Runs `body`, turning every exception into a status + message.
template <typename F> ds_status guarded(F &&body) {
  try {
    body();
    return DS_OK;
  } catch (const ApiError &e) {
    lastError = e.message;
    return e.status;
  } catch (const art::ManifestError &e) {
    lastError = e.what();
    return e.problem == art::ManifestProblem::Io        ? DS_ERROR_IO
           : e.problem == art::ManifestProblem::Version ? DS_ERROR_VERSION
                                                        : DS_ERROR_CORRUPT;
  } catch (const std::bad_alloc &) {
    lastError = "out of memory";
    return DS_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    lastError = e.what();
    return DS_ERROR_RUNTIME;
  } catch (...) {
    lastError = "unknown internal error";
    return DS_ERROR_RUNTIME;
  }
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

/// The manifest's and the generated program's view of the graph must agree.
void checkSignature(const std::string &manifestFile, const char *kind,
                    const std::vector<art::ValueEntry> &declared,
                    const std::vector<rt::ValueSpec> &built) {
  if (declared.size() != built.size())
    fail(DS_ERROR_CORRUPT, manifestFile + ": lists " + std::to_string(declared.size()) + " " +
                               kind + "s, the compiled model has " + std::to_string(built.size()));
  for (size_t i = 0; i < declared.size(); ++i) {
    const art::ValueEntry &d = declared[i];
    const rt::ValueSpec &b = built[i];
    if (d.maxShape != b.maxDims)
      fail(DS_ERROR_CORRUPT, manifestFile + ": " + kind + " '" + d.name + "' has max_shape " +
                                 shapeText(d.maxShape) + ", the compiled model " +
                                 shapeText(b.maxDims) +
                                 "; manifest and library come from different compilations");
    if (d.name != b.name || d.dtype != b.dtype || !b.ranked || d.shape != b.dims)
      fail(DS_ERROR_CORRUPT, manifestFile + ": " + kind + " #" + std::to_string(i) + " is '" +
                                 d.name + "' " + rt::dtypeName(d.dtype) + " " + shapeText(d.shape) +
                                 ", the compiled model has '" + b.name + "' " +
                                 rt::dtypeName(b.dtype) + " " + b.toString());
  }
}

void verifyWeights(const std::string &dir, const art::Manifest &m, const rt::WeightsView &w) {
  const std::string &path = w.path();
  if (w.size() != m.weightsBytes)
    fail(DS_ERROR_CORRUPT, path + ": " + std::to_string(w.size()) + " bytes, the manifest says " +
                               std::to_string(m.weightsBytes) +
                               (w.size() < m.weightsBytes ? " (truncated)" : "") +
                               "; the artifact is damaged, recompile or copy it again");
  // Hash in 16 MiB pieces: one pass over the mapping, pages touched once.
  rt::Sha256 hash;
  constexpr uint64_t kPiece = 16u << 20;
  for (uint64_t off = 0; off < w.size(); off += kPiece)
    hash.update(w.data() + off, static_cast<size_t>(std::min(kPiece, w.size() - off)));
  std::string got = hash.hexDigest();
  if (got != m.weightsSha256)
    fail(DS_ERROR_CORRUPT, path + ": SHA-256 " + got + " differs from the manifest's " +
                               m.weightsSha256 + "; the artifact is damaged or was modified");
  if (m.graphDigest != ds::generated::kGraphDigest)
    fail(DS_ERROR_CORRUPT, (std::filesystem::path(dir) / "manifest.json").string() +
                               ": graph_digest " + m.graphDigest + " is not the graph " +
                               m.libraryFile + " was compiled from (" +
                               ds::generated::kGraphDigest +
                               "); manifest and library come from different compilations");
  if (m.weightsBytes != ds::generated::kWeightsBytes)
    fail(DS_ERROR_CORRUPT, path + ": the compiled model expects " +
                               std::to_string(ds::generated::kWeightsBytes) +
                               " bytes of weights, the manifest says " +
                               std::to_string(m.weightsBytes));
}

void fillInfo(const rt::ValueSpec &spec, const std::vector<int64_t> &dims, ds_value_info *out) {
  out->name = spec.name.c_str();
  out->dtype = static_cast<int32_t>(spec.dtype);
  out->rank = dims.size();
  out->dims = dims.data();
}

/// Wraps caller memory as a Tensor after checking it describes itself consistently
/// and fits the declared input.
rt::Tensor bindInput(const ds_tensor &in, size_t index, const rt::ValueSpec &spec) {
  std::string where = "input #" + std::to_string(index) + " '" + spec.name + "'";
  size_t elem = ds_dtype_size(in.dtype);
  if (elem == 0)
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": unknown dtype code " + std::to_string(in.dtype));
  if (in.rank > 64 || (in.rank && !in.dims))
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": bad rank/dims");
  rt::Shape shape(in.dims, in.dims + in.rank);
  int64_t numel = 0;
  try {
    numel = rt::shapeNumel(shape);
  } catch (const rt::Error &e) {
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": " + e.what());
  }
  if (static_cast<uint64_t>(numel) > SIZE_MAX / elem ||
      static_cast<size_t>(numel) * elem != in.byte_size)
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": byte_size " + std::to_string(in.byte_size) +
                                        " does not match shape " + rt::shapeToString(shape) +
                                        " of " + ds_dtype_name(in.dtype));
  if (in.byte_size && !in.data)
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": data is NULL");
  rt::Tensor t = rt::Tensor::borrow(static_cast<rt::DType>(in.dtype), shape, in.data, nullptr);
  std::string why = spec.mismatch(t);
  if (!why.empty())
    fail(DS_ERROR_INVALID_ARGUMENT, where + ": " + why);
  return t;
}

} // namespace

extern "C" {

const char *ds_last_error(void) { return lastError.c_str(); }

const char *ds_status_name(ds_status status) {
  switch (status) {
  case DS_OK: return "DS_OK";
  case DS_ERROR_INVALID_ARGUMENT: return "DS_ERROR_INVALID_ARGUMENT";
  case DS_ERROR_IO: return "DS_ERROR_IO";
  case DS_ERROR_CORRUPT: return "DS_ERROR_CORRUPT";
  case DS_ERROR_VERSION: return "DS_ERROR_VERSION";
  case DS_ERROR_RUNTIME: return "DS_ERROR_RUNTIME";
  case DS_ERROR_OUT_OF_MEMORY: return "DS_ERROR_OUT_OF_MEMORY";
  }
  return "DS_ERROR_UNKNOWN";
}

const char *ds_dtype_name(int32_t dtype) {
  size_t size = ds_dtype_size(dtype);
  return size ? rt::dtypeName(static_cast<rt::DType>(dtype)) : "unknown";
}

size_t ds_dtype_size(int32_t dtype) {
  switch (dtype) {
  case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 10: case 11: case 12:
  case 13: case 16:
    return rt::dtypeSize(static_cast<rt::DType>(dtype));
  default:
    return 0;
  }
}

void ds_model_options_init(ds_model_options *options) {
  if (options)
    options->num_threads = 0;
}

ds_status ds_model_open(const char *artifact_dir, const ds_model_options *options,
                        ds_model **out) {
  if (out)
    *out = nullptr;
  return guarded([&] {
    if (!artifact_dir || !out)
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_open: artifact_dir and out must not be NULL");
    ds_model_options opts;
    ds_model_options_init(&opts);
    if (options)
      opts = *options;
    if (opts.num_threads < 0)
      fail(DS_ERROR_INVALID_ARGUMENT,
           "ds_model_open: num_threads is " + std::to_string(opts.num_threads) +
               "; use 0 (one per hardware thread) or a positive count");
    std::string dir = artifact_dir;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      fail(DS_ERROR_IO, dir + (std::filesystem::exists(dir, ec) ? ": not a directory"
                                                                : ": no such directory") +
                            " (pass the artifact directory that holds manifest.json)");
    auto model = std::make_unique<ds_model>();
    model->manifest = art::readManifest(dir);
    const art::Manifest &m = model->manifest;
    std::string weightsPath = (std::filesystem::path(dir) / m.weightsFile).string();
    // The manifest allows no "..", but a symlink can still lead out of the artifact.
    auto base = std::filesystem::weakly_canonical(dir, ec);
    auto target = std::filesystem::weakly_canonical(weightsPath, ec);
    if (ec || std::mismatch(base.begin(), base.end(), target.begin(), target.end()).first !=
                  base.end())
      fail(DS_ERROR_IO, weightsPath + ": resolves outside the artifact directory (symlink?); "
                                      "copy the artifact without links");
    try {
      model->weights = rt::WeightsView::open(weightsPath);
    } catch (const rt::Error &e) {
      fail(DS_ERROR_IO, e.what());
    }
    verifyWeights(dir, m, model->weights);
    try {
      ds::generated::buildProgram(model->program, model->weights);
    } catch (const std::bad_alloc &) {
      throw;
    } catch (const std::exception &e) {
      fail(DS_ERROR_CORRUPT, std::string(e.what()) + " (building the compiled model)");
    }
    std::string manifestFile = (std::filesystem::path(dir) / "manifest.json").string();
    checkSignature(manifestFile, "input", m.inputs, model->program.inputs());
    checkSignature(manifestFile, "output", m.outputs, model->program.outputs());
    for (const auto &spec : model->program.inputs())
      model->inputDims.push_back(spec.dims);
    for (const auto &spec : model->program.outputs())
      model->outputDims.push_back(spec.dims);
    model->pool = std::make_unique<rt::ThreadPool>(static_cast<unsigned>(opts.num_threads));
    *out = model.release();
  });
}

void ds_model_release(ds_model *model) { delete model; }

size_t ds_model_num_inputs(const ds_model *model) {
  return model ? model->program.inputs().size() : 0;
}

size_t ds_model_num_outputs(const ds_model *model) {
  return model ? model->program.outputs().size() : 0;
}

ds_status ds_model_input_info(const ds_model *model, size_t index, ds_value_info *out) {
  return guarded([&] {
    if (!model || !out)
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_input_info: model and out must not be NULL");
    if (index >= model->program.inputs().size())
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_input_info: index " + std::to_string(index) +
                                          " out of range (the model has " +
                                          std::to_string(model->program.inputs().size()) +
                                          " inputs)");
    fillInfo(model->program.inputs()[index], model->inputDims[index], out);
  });
}

ds_status ds_model_output_info(const ds_model *model, size_t index, ds_value_info *out) {
  return guarded([&] {
    if (!model || !out)
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_output_info: model and out must not be NULL");
    if (index >= model->program.outputs().size())
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_output_info: index " + std::to_string(index) +
                                          " out of range (the model has " +
                                          std::to_string(model->program.outputs().size()) +
                                          " outputs)");
    fillInfo(model->program.outputs()[index], model->outputDims[index], out);
  });
}

ds_status ds_model_run(ds_model *model, const ds_tensor *inputs, size_t num_inputs,
                       ds_tensors **outputs) {
  if (outputs)
    *outputs = nullptr;
  return guarded([&] {
    if (!model || !outputs || (num_inputs && !inputs))
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_run: model, inputs and outputs must not be NULL");
    const auto &specs = model->program.inputs();
    if (num_inputs != specs.size())
      fail(DS_ERROR_INVALID_ARGUMENT, "the model takes " + std::to_string(specs.size()) +
                                          " inputs, got " + std::to_string(num_inputs));
    std::vector<rt::Tensor> bound;
    for (size_t i = 0; i < num_inputs; ++i)
      bound.push_back(bindInput(inputs[i], i, specs[i]));
    auto result = std::make_unique<ds_tensors>();
    {
      std::lock_guard<std::mutex> lock(model->runMutex);
      try {
        result->values = model->program.run(bound, *model->pool);
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        fail(DS_ERROR_RUNTIME, e.what());
      }
    }
    // Inputs are borrowed without a holder: an output sharing their storage
    // (Identity, Reshape) would dangle once the caller frees them.
    for (rt::Tensor &v : result->values) {
      const auto *p = static_cast<const uint8_t *>(v.rawData());
      for (const rt::Tensor &in : bound) {
        const auto *b = static_cast<const uint8_t *>(in.rawData());
        if (p && b && p >= b && p < b + in.byteSize()) {
          v = v.clone();
          break;
        }
      }
    }
    for (const rt::Tensor &v : result->values)
      result->views.push_back({static_cast<int32_t>(v.dtype()), static_cast<size_t>(v.rank()),
                               v.shape().data(), v.rawData(), v.byteSize()});
    *outputs = result.release();
  });
}

size_t ds_tensors_count(const ds_tensors *tensors) { return tensors ? tensors->views.size() : 0; }

const ds_tensor *ds_tensors_get(const ds_tensors *tensors, size_t index) {
  if (!tensors || index >= tensors->views.size())
    return nullptr;
  return &tensors->views[index];
}

void ds_tensors_release(ds_tensors *tensors) { delete tensors; }

void ds_generate_options_init(ds_generate_options *options) {
  if (options)
    *options = ds_generate_options{0.0f, 0, 1.0f, 0, nullptr, 0};
}

ds_status ds_model_generate(ds_model *model, const int64_t *prompt, size_t prompt_len,
                            size_t max_new_tokens, const ds_generate_options *options,
                            ds_token_callback callback, void *user_data, int64_t *out_tokens,
                            size_t *out_count, ds_generate_stats *stats) {
  if (out_count)
    *out_count = 0;
  return guarded([&] {
    if (!model || !out_count || (prompt_len && !prompt))
      fail(DS_ERROR_INVALID_ARGUMENT, "ds_model_generate: model, prompt and out_count must not be NULL");
    ds_generate_options defaults;
    ds_generate_options_init(&defaults);
    const ds_generate_options &o = options ? *options : defaults;
    rt::GenerationOptions go;
    go.maxNewTokens = static_cast<int64_t>(max_new_tokens);
    go.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
    for (size_t i = 0; i < o.num_stop_ids && o.stop_ids; ++i)
      go.stopTokens.insert(o.stop_ids[i]);
    std::lock_guard<std::mutex> lock(model->runMutex);
    auto step = [&](std::vector<rt::Tensor> &inputs) {
      try {
        return model->program.run(inputs, *model->pool);
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        fail(DS_ERROR_RUNTIME, e.what());
      }
    };
    std::optional<rt::Generator> generator;
    try {
      generator.emplace(step, model->program.inputs(), model->program.outputs());
      rt::Sampler check(go.sampling);
    } catch (const rt::Error &e) {
      fail(DS_ERROR_INVALID_ARGUMENT, e.what());
    }
    if (prompt_len == 0)
      fail(DS_ERROR_INVALID_ARGUMENT, "the prompt is empty: give at least one token (e.g. BOS)");
    size_t count = 0;
    rt::GenerationStats gs;
    generator->generate(std::vector<int64_t>(prompt, prompt + prompt_len), go,
                        [&](int64_t token) {
                          if (out_tokens)
                            out_tokens[count] = token;
                          ++count;
                          *out_count = count;
                          return !callback || callback(token, user_data) != 0;
                        },
                        &gs);
    if (stats)
      *stats = {gs.promptTokens, gs.generatedTokens, gs.prefillSeconds, gs.decodeSeconds};
  });
}

} // extern "C"
