//===- ModelRunner.cpp ----------------------------------------------------===//
#include "tools/support/ModelRunner.h"

#include "tools/support/ToolSupport.h"

#include "codegen/runtime/api/ds_runtime.h"

#include "quantizers/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <optional>

namespace fs = std::filesystem;

namespace ds::tools {

bool isArtifactDir(const std::string &path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "manifest.json", ec);
}

std::vector<int64_t> ModelRunner::generate(const std::vector<int64_t> &prompt,
                                           const rt::GenerationOptions &options,
                                           const rt::TokenFn &onToken,
                                           rt::GenerationStats &stats) {
  std::optional<rt::Generator> generator;
  try {
    generator.emplace([this](std::vector<rt::Tensor> &in) { return run(in); }, inputs(), outputs());
    rt::Sampler check(options.sampling);
  } catch (const rt::Error &e) {
    throw ToolError(description() + ": cannot generate: " + e.what());
  }
  try {
    return generator->generate(prompt, options, onToken, &stats);
  } catch (const rt::Error &e) {
    throw ToolError(description() + ": " + e.what());
  }
}

namespace {

/// The module at `path` in the form the kernels read: IR that
/// `ds-optimize --compile-to quantize` printed has its MLIR quant types lowered.
mlir::OwningOpRef<mlir::ModuleOp> loadForExecutor(mlir::MLIRContext &context,
                                                  const std::string &path) {
  auto module = loadModule(context, path);
  runPasses(*module, [](mlir::OpPassManager &pm) {
    pm.addNestedPass<mlir::func::FuncOp>(quant::createLowerQuantTypesPass());
  }, path);
  return module;
}

class ExecutorRunner : public ModelRunner {
public:
  // Executor errors name the node; the model file is prefixed here, so that the
  // one error line names the file too.
  ExecutorRunner(const std::string &path, unsigned threads) try
      : path_(path), module_(loadForExecutor(context_, path)), pool_(threads),
        executor_(*module_, pool_) {
  } catch (const exec::ExecutionError &e) {
    throw ToolError(path + ": " + e.what());
  }
  const std::vector<exec::TensorSpec> &inputs() const override { return executor_.inputs(); }
  const std::vector<exec::TensorSpec> &outputs() const override { return executor_.outputs(); }
  std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &inputs) override {
    try {
      return executor_.run(inputs);
    } catch (const exec::ExecutionError &e) {
      throw ToolError(path_ + ": " + e.what());
    }
  }
  std::string description() const override { return "reference executor"; }
  bool profile(const std::vector<rt::Tensor> &inputs,
               std::map<std::string, std::pair<double, int64_t>> &msByKernel) override {
    auto last = std::chrono::steady_clock::now();
    executor_.run(inputs, [&](mlir::Operation *op, const std::vector<rt::Tensor> &) {
      auto now = std::chrono::steady_clock::now();
      auto &entry = msByKernel[op->getName().stripDialect().str()];
      entry.first += std::chrono::duration<double, std::milli>(now - last).count();
      entry.second += 1;
      last = now;
    });
    return true;
  }

private:
  std::string path_;
  mlir::MLIRContext context_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  rt::ThreadPool pool_;
  exec::ReferenceExecutor executor_;
};

/// The artifact's C API, resolved from its own library. The library hides
/// every symbol but ds_* (a version script), so its kernel library does not
/// clash with the copy linked into this tool.
class ArtifactRunner : public ModelRunner {
public:
  ArtifactRunner(const std::string &dir, unsigned threads) : dir_(dir) {
    std::string lib = (fs::path(dir) / "lib" / "libds_model.so").string();
    // Code from outside the artifact must not be loaded through a symlink.
    std::error_code ec;
    auto base = fs::weakly_canonical(dir, ec), target = fs::weakly_canonical(lib, ec);
    if (ec || std::mismatch(base.begin(), base.end(), target.begin(), target.end()).first !=
                  base.end())
      throw ToolError(lib + ": resolves outside the artifact directory (symlink?); copy the "
                            "artifact without links");
    handle_ = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      throw ToolError(lib + ": cannot load the artifact's library: " + std::string(::dlerror()));
    resolve(lastError_, "ds_last_error");
    resolve(optionsInit_, "ds_model_options_init");
    resolve(open_, "ds_model_open");
    resolve(release_, "ds_model_release");
    resolve(numInputs_, "ds_model_num_inputs");
    resolve(numOutputs_, "ds_model_num_outputs");
    resolve(inputInfo_, "ds_model_input_info");
    resolve(outputInfo_, "ds_model_output_info");
    resolve(run_, "ds_model_run");
    resolve(count_, "ds_tensors_count");
    resolve(get_, "ds_tensors_get");
    resolve(releaseTensors_, "ds_tensors_release");
    // Artifacts from before the generation API lack these: run() still works.
    generate_ = reinterpret_cast<decltype(generate_)>(::dlsym(handle_, "ds_model_generate"));
    generateOptionsInit_ =
        reinterpret_cast<decltype(generateOptionsInit_)>(::dlsym(handle_, "ds_generate_options_init"));
    if (!generateOptionsInit_)
      generate_ = nullptr;
    ds_model_options options;
    optionsInit_(&options);
    options.num_threads = static_cast<int32_t>(threads);
    if (open_(dir.c_str(), &options, &model_) != DS_OK)
      throw ToolError(lastError_());
    for (size_t i = 0; i < numInputs_(model_); ++i)
      inputs_.push_back(info(inputInfo_, i));
    for (size_t i = 0; i < numOutputs_(model_); ++i)
      outputs_.push_back(info(outputInfo_, i));
  }
  ~ArtifactRunner() override {
    if (model_)
      release_(model_);
    // The library stays loaded: tensors returned to the caller are copies, but
    // unloading a library with thread-local state and static objects at exit
    // buys nothing.
  }
  const std::vector<exec::TensorSpec> &inputs() const override { return inputs_; }
  const std::vector<exec::TensorSpec> &outputs() const override { return outputs_; }
  std::string description() const override { return "artifact " + dir_; }

  std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &inputs) override {
    std::vector<ds_tensor> views(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      views[i].dtype = static_cast<int32_t>(inputs[i].dtype());
      views[i].rank = inputs[i].shape().size();
      views[i].dims = inputs[i].shape().data();
      views[i].data = inputs[i].rawData();
      views[i].byte_size = inputs[i].byteSize();
    }
    ds_tensors *results = nullptr;
    if (run_(model_, views.data(), views.size(), &results) != DS_OK)
      throw ToolError(dir_ + ": " + lastError_());
    std::vector<rt::Tensor> out;
    for (size_t i = 0; i < count_(results); ++i) {
      const ds_tensor *t = get_(results, i);
      // Filled by the memcpy below: not zeroed first (that was a second pass over
      // every output, timed by ds-benchmark as if the model did it).
      rt::Tensor copy = rt::Tensor::uninitialized(static_cast<rt::DType>(t->dtype),
                                                  rt::Shape(t->dims, t->dims + t->rank));
      if (copy.byteSize() != t->byte_size) {
        releaseTensors_(results);
        throw ToolError(dir_ + ": output " + std::to_string(i) + " has an inconsistent size");
      }
      std::memcpy(copy.mutableRawData(), t->data, t->byte_size);
      out.push_back(std::move(copy));
    }
    releaseTensors_(results);
    return out;
  }

  std::vector<int64_t> generate(const std::vector<int64_t> &prompt,
                                const rt::GenerationOptions &options, const rt::TokenFn &onToken,
                                rt::GenerationStats &stats) override {
    if (!generate_)
      throw ToolError(dir_ + "/lib/libds_model.so: has no ds_model_generate (an artifact from an "
                             "older ds-optimize); rebuild it");
    ds_generate_options o;
    generateOptionsInit_(&o);
    o.temperature = options.sampling.temperature;
    o.top_k = options.sampling.topK;
    o.top_p = options.sampling.topP;
    o.seed = options.sampling.seed;
    std::vector<int64_t> stops(options.stopTokens.begin(), options.stopTokens.end());
    o.stop_ids = stops.data();
    o.num_stop_ids = stops.size();
    std::vector<int64_t> tokens(static_cast<size_t>(std::max<int64_t>(options.maxNewTokens, 0)));
    size_t count = 0;
    ds_generate_stats s{};
    auto callback = [](int64_t token, void *user) -> int {
      const auto *fn = static_cast<const rt::TokenFn *>(user);
      return !*fn || (*fn)(token) ? 1 : 0;
    };
    if (generate_(model_, prompt.data(), prompt.size(), tokens.size(), &o, callback,
                  const_cast<rt::TokenFn *>(&onToken), tokens.data(), &count, &s) != DS_OK)
      throw ToolError(dir_ + ": " + lastError_());
    tokens.resize(count);
    stats = {s.prompt_tokens, s.generated_tokens, s.prefill_seconds, s.decode_seconds};
    return tokens;
  }

private:
  template <typename Fn> void resolve(Fn &fn, const char *name) {
    fn = reinterpret_cast<Fn>(::dlsym(handle_, name));
    if (!fn)
      throw ToolError(dir_ + "/lib/libds_model.so: has no " + std::string(name) +
                      " (not a ds-optimize artifact library, or from another version)");
  }
  exec::TensorSpec info(ds_status (*getter)(const ds_model *, size_t, ds_value_info *), size_t i) {
    ds_value_info v{};
    if (getter(model_, i, &v) != DS_OK)
      throw ToolError(lastError_());
    exec::TensorSpec spec;
    spec.name = v.name;
    spec.dtype = static_cast<rt::DType>(v.dtype);
    spec.ranked = true;
    spec.dims.assign(v.dims, v.dims + v.rank);
    return spec;
  }

  std::string dir_;
  void *handle_ = nullptr;
  ds_model *model_ = nullptr;
  std::vector<exec::TensorSpec> inputs_, outputs_;
  const char *(*lastError_)() = nullptr;
  void (*optionsInit_)(ds_model_options *) = nullptr;
  ds_status (*open_)(const char *, const ds_model_options *, ds_model **) = nullptr;
  void (*release_)(ds_model *) = nullptr;
  size_t (*numInputs_)(const ds_model *) = nullptr;
  size_t (*numOutputs_)(const ds_model *) = nullptr;
  ds_status (*inputInfo_)(const ds_model *, size_t, ds_value_info *) = nullptr;
  ds_status (*outputInfo_)(const ds_model *, size_t, ds_value_info *) = nullptr;
  ds_status (*run_)(ds_model *, const ds_tensor *, size_t, ds_tensors **) = nullptr;
  size_t (*count_)(const ds_tensors *) = nullptr;
  const ds_tensor *(*get_)(const ds_tensors *, size_t) = nullptr;
  void (*releaseTensors_)(ds_tensors *) = nullptr;
  void (*generateOptionsInit_)(ds_generate_options *) = nullptr;
  ds_status (*generate_)(ds_model *, const int64_t *, size_t, size_t, const ds_generate_options *,
                         ds_token_callback, void *, int64_t *, size_t *,
                         ds_generate_stats *) = nullptr;
};

} // namespace

std::unique_ptr<ModelRunner> openRunner(const std::string &path, unsigned threads) {
  if (isArtifactDir(path))
    return std::make_unique<ArtifactRunner>(path, threads);
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw ToolError(path + ": not a regular file (a directory without manifest.json); pass a "
                           "model file or an artifact directory (OUT/<profile>)");
  return std::make_unique<ExecutorRunner>(path, threads);
}

} // namespace ds::tools
