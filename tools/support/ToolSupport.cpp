//===- ToolSupport.cpp ----------------------------------------------------===//
#include "tools/support/ToolSupport.h"

#include "dialects/ds/DsDialect.h"
#include "importer/OnnxImporter.h"
#include "tools/support/ModelRunner.h"

#include "ds/runtime/FileHelpers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/SourceMgr.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

namespace fs = std::filesystem;

namespace ds::tools {

void registerToolDialects(mlir::MLIRContext &context) {
  importer::registerImportDialects(context);
}

mlir::OwningOpRef<mlir::ModuleOp> loadModule(mlir::MLIRContext &context, const std::string &path,
                                             const importer::ImportOptions &options) {
  registerToolDialects(context);
  if (fs::path(path).extension() != ".mlir")
    return importer::importOnnxModel(context, path, options);
  std::string diagnostic;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diagnostic.empty())
      diagnostic = diag.str();
    return mlir::success();
  });
  if (!fs::is_regular_file(path))
    throw ToolError(path + ": no such file");
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
  if (!module)
    throw ToolError(path + ": cannot parse IR: " + diagnostic);
  return module;
}

void runPasses(mlir::ModuleOp module, const std::function<void(mlir::OpPassManager &)> &build,
               const std::string &what) {
  mlir::PassManager pm(module->getContext());
  build(pm);
  std::string diagnostic;
  mlir::ScopedDiagnosticHandler handler(module->getContext(), [&](mlir::Diagnostic &diag) {
    if (diagnostic.empty())
      diagnostic = diag.str();
    return mlir::success();
  });
  if (mlir::failed(pm.run(module)))
    throw ToolError(what + ": " + diagnostic);
}

namespace {
std::string safeFileName(const std::string &name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
               ? c
               : '_';
  return out.empty() || out[0] == '.' ? "_" + out : out;
}

void checkAgainstSpec(const std::string &file, const exec::TensorSpec &spec,
                      const rt::Tensor &t) {
  if (t.dtype() != spec.dtype)
    throw ToolError(file + ": tensor '" + spec.name + "' has element type " +
                    rt::dtypeName(t.dtype()) + ", the model expects " + rt::dtypeName(spec.dtype));
  if (!spec.ranked)
    return;
  bool ok = t.rank() == static_cast<int64_t>(spec.dims.size());
  for (size_t i = 0; ok && i < spec.dims.size(); ++i)
    ok = spec.dims[i] < 0 || spec.dims[i] == t.shape()[i];
  if (!ok)
    throw ToolError(file + ": tensor '" + spec.name + "' has shape " +
                    rt::shapeToString(t.shape()) + ", the model expects " + spec.toString());
}
} // namespace

std::vector<rt::Tensor> bindInputs(const std::string &path,
                                   const std::vector<exec::TensorSpec> &specs) {
  std::vector<rt::Tensor> bound(specs.size());
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw ToolError(path + ": no such file or directory");
  std::string ext = fs::path(path).extension().string();
  if (fs::is_directory(path, ec)) {
    auto tensors = io::readTestDataSet(path, "input");
    if (tensors.size() != specs.size())
      throw ToolError(path + ": holds " + std::to_string(tensors.size()) +
                      " input_N.pb files, the model has " + std::to_string(specs.size()) +
                      " inputs");
    for (size_t i = 0; i < specs.size(); ++i)
      bound[i] = tensors[i].tensor;
  } else if (ext == ".npy") {
    if (specs.size() != 1)
      throw ToolError(path + ": a single .npy can feed only a one-input model; this one has " +
                      std::to_string(specs.size()) + " inputs: use an .npz keyed by input name");
    bound[0] = io::readNpy(path);
  } else if (ext == ".npz") {
    std::map<std::string, rt::Tensor> byName;
    for (auto &nt : io::readNpz(path))
      byName[nt.name] = nt.tensor;
    for (size_t i = 0; i < specs.size(); ++i) {
      auto it = byName.find(specs[i].name);
      if (it == byName.end()) {
        std::string have;
        for (auto &[n, t] : byName)
          have += (have.empty() ? "" : ", ") + n;
        throw ToolError(path + ": no tensor named '" + specs[i].name +
                        "' (the model's input); the file has: " + (have.empty() ? "none" : have));
      }
      bound[i] = it->second;
      byName.erase(it);
    }
    if (!byName.empty())
      throw ToolError(path + ": tensor '" + byName.begin()->first +
                      "' is not an input of the model");
  } else {
    throw ToolError(path + ": unknown input format; use .npz, .npy or a test_data_set directory");
  }
  for (size_t i = 0; i < specs.size(); ++i)
    checkAgainstSpec(path, specs[i], bound[i]);
  return bound;
}

std::vector<std::string> outputFileNames(const std::string &dir,
                                         const std::vector<exec::TensorSpec> &specs) {
  std::vector<std::string> names;
  std::map<std::string, std::string> owner; // file name -> the output that has it
  for (const auto &spec : specs) {
    std::string file = safeFileName(spec.name) + ".npy";
    auto [it, fresh] = owner.emplace(file, spec.name);
    if (!fresh)
      throw ToolError(dir + ": outputs '" + it->second + "' and '" + spec.name +
                      "' would both be " + file + " (unsafe characters become '_'); rename one "
                      "in the model");
    names.push_back((fs::path(dir) / file).string());
  }
  return names;
}

void writeOutputs(const std::string &dir, const std::vector<exec::TensorSpec> &specs,
                  const std::vector<rt::Tensor> &outputs) {
  auto files = outputFileNames(dir, specs); // before anything is written
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw ToolError(dir + ": cannot create output directory: " + ec.message());
  for (size_t i = 0; i < specs.size(); ++i)
    io::writeNpy(files[i], outputs[i]);
}

void checkArtifactFiles(const std::string &path) {
  if (!isArtifactDir(path))
    return;
  // dlopen blocks on a FIFO. A link that leaves the artifact is the runner's
  // error to report (and must not be opened here).
  std::string lib = (fs::path(path) / "lib" / "libds_model.so").string();
  std::error_code ec;
  auto base = fs::weakly_canonical(path, ec), target = fs::weakly_canonical(lib, ec);
  if (ec || std::mismatch(base.begin(), base.end(), target.begin(), target.end()).first !=
                base.end())
    return;
  rt::files::requireRegularFile(lib);
}

std::string oneLine(const std::string &text) {
  static const char *hex = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
    else
      out += c;
  }
  return out;
}

std::vector<rt::Tensor> readExpectedOutputs(const std::string &dir,
                                            const std::vector<exec::TensorSpec> &specs) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ToolError(dir + ": not a directory");
  std::vector<rt::Tensor> expected;
  auto pb = io::readTestDataSet(dir, "output");
  if (!pb.empty()) {
    if (pb.size() != specs.size())
      throw ToolError(dir + ": holds " + std::to_string(pb.size()) +
                      " output_N.pb files, the model has " + std::to_string(specs.size()) +
                      " outputs");
    for (auto &nt : pb)
      expected.push_back(nt.tensor);
    return expected;
  }
  for (const auto &file : outputFileNames(dir, specs))
    expected.push_back(io::readNpy(file));
  return expected;
}

Comparison compareTensors(const rt::Tensor &actual, const rt::Tensor &expected, double rtol,
                          double atol) {
  Comparison c;
  if (actual.dtype() != expected.dtype()) {
    c.problem = std::string("element type ") + rt::dtypeName(actual.dtype()) + ", expected " +
                rt::dtypeName(expected.dtype());
    return c;
  }
  if (actual.shape() != expected.shape()) {
    c.problem = "shape " + rt::shapeToString(actual.shape()) + ", expected " +
                rt::shapeToString(expected.shape());
    return c;
  }
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.getAsDouble(i), e = expected.getAsDouble(i);
    if (std::isnan(a) || std::isnan(e)) {
      c.mismatches += std::isnan(a) != std::isnan(e);
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      c.mismatches += a != e;
      continue;
    }
    double abs = std::fabs(a - e);
    c.maxAbsError = std::max(c.maxAbsError, abs);
    if (e != 0)
      c.maxRelError = std::max(c.maxRelError, abs / std::fabs(e));
    if (abs > atol + rtol * std::fabs(e))
      ++c.mismatches;
  }
  return c;
}

int runTool(const char *toolName, const std::function<int()> &body) {
  auto report = [&](const std::string &message) {
    std::cerr << toolName << ": error: " << oneLine(message) << "\n";
  };
  try {
    return body();
  } catch (const std::bad_alloc &) {
    report("out of memory");
  } catch (const std::exception &e) { // ImportError, IoError, ExecutionError, ToolError, ...
    report(e.what());
  }
  return kExitBadInput;
}

} // namespace ds::tools
