//===- ds_model_run.cpp - bin/ds-model-run of a compiled artifact ---------===//
//
//   ds-model-run ARTIFACT_DIR --inputs X.npz|X.npy [--outputs DIR] [--threads N]
//
// Runs the artifact through its C API only (ds_runtime.h), reading inputs with
// the runtime's zlib-free .npy/.npz code: the artifact may depend on nothing
// but libc, libstdc++, libm and pthread. --outputs writes one <name>.npy per
// output, as ds-run does, so the two can be compared file by file.
//
// Exit 0: ran; 2: bad arguments, input file or artifact (one line on stderr);
// 1: the model failed while running.
//===----------------------------------------------------------------------===//
#include "ds_runtime.h"

#include "ds/runtime/NpyIO.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace rt = ds::rt;

namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitBadInput = 2;
constexpr const char *kUsage =
    "usage: ds-model-run ARTIFACT_DIR --inputs X.npz|X.npy [--outputs DIR] [--threads N]";

/// A failure with its exit code; what() is the one line for stderr.
struct Failure {
  int exitCode;
  std::string message;
};

[[noreturn]] void badInput(std::string message) { throw Failure{kExitBadInput, std::move(message)}; }

void check(ds_status status) {
  if (status != DS_OK)
    throw Failure{status == DS_ERROR_RUNTIME || status == DS_ERROR_OUT_OF_MEMORY ? kExitFailed
                                                                                 : kExitBadInput,
                  ds_last_error()};
}

struct Options {
  std::string artifact, inputs, outputsDir;
  int threads = 0;
};

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        badInput(arg + " needs a value; " + kUsage);
      return argv[++i];
    };
    if (arg == "--inputs")
      o.inputs = value();
    else if (arg == "--outputs")
      o.outputsDir = value();
    else if (arg == "--threads") {
      std::string v = value();
      char *end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 4096)
        badInput("--threads must be an integer in [0, 4096], got '" + v + "'");
      o.threads = static_cast<int>(n);
    } else if (arg == "-h" || arg == "--help") {
      std::puts(kUsage);
      std::exit(kExitOk);
    } else if (!arg.empty() && arg[0] == '-')
      badInput("unknown option " + arg + "; " + kUsage);
    else if (o.artifact.empty())
      o.artifact = arg;
    else
      badInput("unexpected argument '" + arg + "'; " + kUsage);
  }
  if (o.artifact.empty() || o.inputs.empty())
    badInput(std::string("missing ARTIFACT_DIR or --inputs; ") + kUsage);
  return o;
}

std::string safeFileName(const std::string &name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c
                                                                                              : '_';
  return out.empty() || out[0] == '.' ? "_" + out : out;
}

/// The tensors of `path` in the model's input order.
std::vector<rt::Tensor> readInputs(const std::string &path, const std::vector<std::string> &names) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    badInput(path + (fs::exists(path, ec) ? ": not a file" : ": no such file") +
             "; pass an .npz keyed by input name or an .npy");
  std::string ext = fs::path(path).extension().string();
  std::vector<rt::Tensor> bound;
  try {
    if (ext == ".npy") {
      if (names.size() != 1)
        badInput(path + ": a single .npy can feed only a one-input model; this one has " +
                 std::to_string(names.size()) + " inputs: use an .npz keyed by input name");
      bound.push_back(rt::readNpy(path));
    } else if (ext == ".npz") {
      std::map<std::string, rt::Tensor> byName;
      for (auto &nt : rt::readNpz(path))
        byName[nt.name] = nt.tensor;
      for (const std::string &name : names) {
        auto it = byName.find(name);
        if (it == byName.end()) {
          std::string have;
          for (auto &[n, t] : byName)
            have += (have.empty() ? "" : ", ") + n;
          badInput(path + ": no tensor named '" + name + "' (the model's input); the file has: " +
                   (have.empty() ? "none" : have));
        }
        bound.push_back(it->second);
        byName.erase(it);
      }
      if (!byName.empty())
        badInput(path + ": tensor '" + byName.begin()->first + "' is not an input of the model");
    } else {
      badInput(path + ": unknown input format; use .npz (np.savez) or .npy");
    }
  } catch (const rt::Error &e) {
    badInput(e.what());
  }
  return bound;
}

int run(const Options &o) {
  ds_model_options options;
  ds_model_options_init(&options);
  options.num_threads = o.threads;
  ds_model *model = nullptr;
  check(ds_model_open(o.artifact.c_str(), &options, &model));
  std::unique_ptr<ds_model, void (*)(ds_model *)> owner(model, ds_model_release);

  std::vector<std::string> inputNames, outputNames;
  for (size_t i = 0; i < ds_model_num_inputs(model); ++i) {
    ds_value_info info;
    check(ds_model_input_info(model, i, &info));
    inputNames.push_back(info.name);
  }
  for (size_t i = 0; i < ds_model_num_outputs(model); ++i) {
    ds_value_info info;
    check(ds_model_output_info(model, i, &info));
    outputNames.push_back(info.name);
  }
  std::vector<rt::Tensor> tensors = readInputs(o.inputs, inputNames);
  std::vector<ds_tensor> inputs;
  for (const rt::Tensor &t : tensors)
    inputs.push_back({static_cast<int32_t>(t.dtype()), static_cast<size_t>(t.rank()),
                      t.shape().data(), t.rawData(), t.byteSize()});

  ds_tensors *results = nullptr;
  auto start = std::chrono::steady_clock::now();
  ds_status status = ds_model_run(model, inputs.data(), inputs.size(), &results);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (status != DS_OK) // name the file: the message names the input
    throw Failure{status == DS_ERROR_INVALID_ARGUMENT ? kExitBadInput : kExitFailed,
                  (status == DS_ERROR_INVALID_ARGUMENT ? o.inputs + ": " : std::string()) +
                      ds_last_error()};
  std::unique_ptr<ds_tensors, void (*)(ds_tensors *)> resultOwner(results, ds_tensors_release);

  if (!o.outputsDir.empty()) {
    std::error_code ec;
    fs::create_directories(o.outputsDir, ec);
    if (ec)
      badInput(o.outputsDir + ": cannot create output directory: " + ec.message());
  }
  std::printf("ran %s in %.3f ms\n", o.artifact.c_str(), ms);
  for (size_t i = 0; i < ds_tensors_count(results); ++i) {
    const ds_tensor *t = ds_tensors_get(results, i);
    rt::Shape shape(t->dims, t->dims + t->rank);
    std::printf("  %s: %s %s\n", outputNames[i].c_str(), ds_dtype_name(t->dtype),
                rt::shapeToString(shape).c_str());
    if (o.outputsDir.empty())
      continue;
    // Borrowing is enough: writeNpy only reads.
    rt::Tensor view = rt::Tensor::borrow(static_cast<rt::DType>(t->dtype), shape, t->data, nullptr);
    try {
      rt::writeNpy((fs::path(o.outputsDir) / (safeFileName(outputNames[i]) + ".npy")).string(),
                   view);
    } catch (const rt::Error &e) {
      badInput(e.what());
    }
  }
  return kExitOk;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parseArgs(argc, argv));
  } catch (const Failure &f) {
    std::fprintf(stderr, "ds-model-run: error: %s\n", f.message.c_str());
    return f.exitCode;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "ds-model-run: error: %s\n", e.what());
    return kExitFailed;
  }
}
