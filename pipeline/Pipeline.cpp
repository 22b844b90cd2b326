//===- Pipeline.cpp - the phases of ds-optimize, in order -----------------===//
#include "pipeline/Pipeline.h"

#include "codegen/host/HostArtifact.h"
#include "ds/runtime/Sha256.h"
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"
#include "pipeline/AccuracyControl.h"
#include "pipeline/AtomicDir.h"
#include "pipeline/Calibrate.h"
#include "pipeline/Coverage.h"
#include "pipeline/Report.h"
#include "pipeline/Samples.h"
#include "quantizers/Passes.h"
#include "tools/support/ToolSupport.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <fstream>

namespace fs = std::filesystem;
using ds::tools::ToolError;

namespace ds::pipeline {

namespace {

constexpr const char *kToolVersion = "0.1.0";

/// Prints "[i/n] phase ... detail (t s)" per phase and keeps the times for the summary.
class PhaseLog {
public:
  PhaseLog(llvm::raw_ostream &os, int total) : os_(os), total_(total) {}
  void begin(const std::string &name) {
    name_ = name;
    start_ = std::chrono::steady_clock::now();
    os_ << "[" << ++index_ << "/" << total_ << "] " << name << "\n";
    os_.flush();
  }
  void end(const std::string &detail = "") {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    times_.push_back({name_, s});
    os_ << "      " << (detail.empty() ? "done" : detail) << " (" << llvm::format("%.2f", s) << " s)\n";
    os_.flush();
  }
  const std::vector<std::pair<std::string, double>> &times() const { return times_; }

private:
  llvm::raw_ostream &os_;
  int total_, index_ = 0;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::pair<std::string, double>> times_;
};

std::string fileSha256(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ToolError(path + ": cannot read");
  rt::Sha256 sha;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    sha.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return sha.hexDigest();
}

/// tools::runPasses for one phase of the job: errors say "<phase> failed: ...".
void runPasses(mlir::ModuleOp module, const std::function<void(mlir::OpPassManager &)> &build,
               const std::string &phase) {
  tools::runPasses(module, build, phase + " failed");
}

uint64_t floatWeightBytes(const rt::Program &program) {
  uint64_t bytes = 0;
  for (size_t slot = 0; slot < program.numSlots(); ++slot)
    bytes += program.constantAt(static_cast<int>(slot)).byteSize();
  return bytes;
}

nlohmann::json specsJson(const std::vector<exec::TensorSpec> &specs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto &s : specs) {
    nlohmann::json dims = nlohmann::json::array();
    for (int64_t d : s.dims)
      dims.push_back(d);
    nlohmann::json entry = {{"name", s.name}, {"dtype", rt::dtypeName(s.dtype)}, {"shape", dims}};
    if (!s.maxDims.empty())
      entry["max_shape"] = s.maxDims;
    out.push_back(std::move(entry));
  }
  return out;
}

} // namespace

std::pair<std::string, std::vector<int64_t>> parseInputShape(const std::string &text,
                                                             const char *option) {
  size_t eq = text.rfind('=');
  auto bad = [&]() -> ToolError {
    return ToolError(std::string(option) + " '" + text +
                     "' is not NAME=D0xD1x... with positive dims, e.g. input_ids=1x128");
  };
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw bad();
  std::vector<int64_t> dims;
  std::string rest = text.substr(eq + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t x = rest.find('x', start);
    std::string part = rest.substr(start, x == std::string::npos ? std::string::npos : x - start);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 12)
      throw bad();
    dims.push_back(std::stoll(part));
    if (dims.back() <= 0)
      throw bad();
    if (x == std::string::npos)
      break;
    start = x + 1;
  }
  return {text.substr(0, eq), dims};
}

double parseMaxDrop(const std::string &text) {
  std::string t = text;
  bool percent = !t.empty() && t.back() == '%';
  if (percent)
    t.pop_back();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used != t.size() || t.empty() || !(v >= 0) || !std::isfinite(v))
    throw ToolError("--max-drop '" + text + "' is not a non-negative number; use e.g. 1% or 0.01");
  return percent ? v : v * 100.0;
}

int runOptimize(const OptimizeOptions &o, llvm::raw_ostream &log, llvm::raw_ostream &ir) {
  if (o.profile != "host")
    throw ToolError("profile '" + o.profile +
                    "' has no code generator yet; supported: host (rtx4090, a100, jetson-orin and "
                    "snapdragon-8g3 are planned)");
  if (o.precision != "fp32" && o.precision != "int8")
    throw ToolError("precision '" + o.precision + "' is not supported for profile host; supported: "
                    "fp32, int8");
  bool stopEarly = !o.stopAfter.empty();
  if (o.outDir.empty() && !stopEarly)
    throw ToolError("no output directory; pass -o OUT");
  bool int8 = o.precision == "int8";
  bool staticQuant = int8 && o.quantMode == "static";
  if (int8 && o.quantMode != "static" && o.quantMode != "dynamic" && o.quantMode != "dynamic-per-token")
    throw ToolError("--quant-mode '" + o.quantMode + "' is not one of: static, dynamic, dynamic-per-token");
  if (o.calib.empty() && o.eval.empty() && !stopEarly)
    throw ToolError("no data to verify the artifact with: pass --eval DIR (or --calib DIR)");

  AccuracyTarget accuracyTarget{o.maxDropPercent, o.maxMeanKl, o.minTop1};
  if (o.accuracyControl && (!int8 || !accuracyTarget.any()))
    throw ToolError("--accuracy-control needs --precision int8 and a target to meet: --max-drop "
                    "(e.g. 1%), --max-kl (e.g. 0.01) and/or --min-top1 (e.g. 0.97)");
  if (o.accuracyControl && o.autoFp32Threshold > 0)
    throw ToolError("--accuracy-control and --auto-fp32 both choose the layers that stay FP32: "
                    "pass one of them");

  // Static INT8 needs activation ranges; SmoothQuant needs per-channel ones in any mode.
  bool gptq = int8 && o.weightRounding == "gptq";
  if (gptq && o.calib.empty())
    throw ToolError("--weight-rounding gptq needs --calib data (its Hessians are not kept in the "
                    "calibration cache)");
  bool calibrating = (staticQuant || (int8 && (o.smoothquantAlpha > 0 || gptq))) &&
                     (!o.calib.empty() || !o.calibCache.empty());
  int laterPhases = int8 ? 1 + (calibrating ? 1 : 0) : 0; // quantize (+ calibrate)
  PhaseLog phases(log, stopEarly ? (o.stopAfter == "optimize" ? 2 : 2 + laterPhases) : 5 + laterPhases);
  auto printIr = [&](mlir::ModuleOp module) {
    mlir::OpPrintingFlags flags;
    if (o.elideWeights)
      flags.elideLargeResourceString(64);
    module->print(ir, flags);
    ir << "\n";
    return int(tools::kExitOk);
  };
  rt::ThreadPool pool(o.threads);

  phases.begin("import " + o.model);
  mlir::MLIRContext context;
  importer::ImportOptions importOptions;
  importOptions.inputShapes = o.inputShapes;
  importOptions.maxInputShapes = o.maxInputShapes;
  auto teacherModule = tools::loadModule(context, o.model, importOptions);
  std::string modelSha = fileSha256(o.model);
  auto upgradedFrom = (*teacherModule)->getAttrOfType<mlir::IntegerAttr>("ds.upgraded_from_opset");
  auto opset = (*teacherModule)->getAttrOfType<mlir::IntegerAttr>("ds.opset");
  phases.end(upgradedFrom && opset ? llvm::formatv("opset {0} upgraded to {1} by ONNX's version "
                                                   "converter", upgradedFrom.getInt(), opset.getInt())
                                         .str()
                                   : std::string());

  phases.begin(std::string("optimize: canonicalize, fold constants") +
               (int8 ? ", take Q/DQ scales" : "") + ", fold Conv+BatchNormalization, fuse RMSNorm, attention, rotary and SwiGLU");
  mlir::OwningOpRef<mlir::ModuleOp> studentModule(teacherModule->clone());
  runPasses(*studentModule, [&](mlir::OpPassManager &pm) {
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createInferShapesPass({/*foldValues=*/true}));
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFoldConstantsPass());
    if (int8)
      pm.addNestedPass<mlir::func::FuncOp>(quant::createFoldQdqPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFoldBatchNormPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseNormsPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseAttentionPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseRotaryPass());
    pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseSwiGluPass());
    pm.addPass(mlir::createCanonicalizerPass());
  }, "optimize");
  size_t withModelScales = 0;
  studentModule->walk([&](mlir::Operation *op) {
    withModelScales += op->hasAttr(quant::kActQParamsAttr);
  });
  if (staticQuant && o.calib.empty() && o.calibCache.empty() && withModelScales == 0)
    throw ToolError("static INT8 needs calibration data: pass --calib DIR (or --calib-cache FILE, "
                    "or --quant-mode dynamic)");
  std::vector<FusionCoverage> fusions = fusionCoverage(*studentModule);
  exec::ReferenceExecutor teacher(*teacherModule, pool);
  mlir::OwningOpRef<mlir::ModuleOp> referenceModule(studentModule->clone());
  exec::ReferenceExecutor reference(*referenceModule, pool);
  phases.end();
  if (o.stopAfter == "optimize" || (stopEarly && !int8))
    return printIr(*studentModule);

  std::string evalPath = o.eval.empty() ? o.calib : o.eval;
  SampleSet evalSet;
  if (!stopEarly)
    evalSet = loadSamples(evalPath, teacher.inputs());
  std::optional<Labels> labels;
  if (!o.evalLabels.empty())
    labels = loadLabels(o.evalLabels);

  ReportData report;
  report.modelFile = fs::path(o.model).filename().string();
  report.modelSha256 = modelSha;
  report.profile = o.profile;
  report.precision = int8 ? "int8-" + o.quantMode : "fp32";
  // File names only: the report must not depend on where the job ran from.
  auto baseName = [](const std::string &p) {
    fs::path n = fs::path(p).lexically_normal();
    return (n.has_filename() ? n.filename() : n.parent_path().filename()).string();
  };
  report.evalSource = o.eval.empty()
                          ? baseName(o.calib) + " (the calibration set: pass --eval for held-out data)"
                          : baseName(o.eval);
  report.maxDropPercent = o.maxDropPercent;
  report.maxMeanKl = o.maxMeanKl;
  report.minTop1 = o.minTop1;

  mlir::OwningOpRef<mlir::ModuleOp> calibratedModule; // FP32 with ranges, before quantize
  /// `autoFp32`: node names kept in FP32 for the report's reason `why`.
  auto quantize = [&](mlir::ModuleOp module, const std::vector<std::string> &autoFp32,
                      const std::string &why) {
    runPasses(module, [&](mlir::OpPassManager &pm) {
      quant::QuantInt8PassOptions qopts;
      qopts.mode = o.quantMode;
      qopts.keepFp32.assign(o.keepFp32.begin(), o.keepFp32.end());
      qopts.autoFp32.assign(autoFp32.begin(), autoFp32.end());
      qopts.autoFp32Reason = why;
      qopts.smoothquantAlpha = o.smoothquantAlpha;
      qopts.weightRounding = o.weightRounding;
      pm.addNestedPass<mlir::func::FuncOp>(quant::createQuantInt8Pass(qopts));
      // The Relus of quantized convs are in quant_conv now; the FP32 convs' go here.
      pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseConvActivationPass());
      pm.addPass(mlir::createCanonicalizerPass());
    }, "quantize");
  };
  // The quantized IR states its numerics in MLIR quant types (what --compile-to
  // quantize prints); the executor and codegen read the kernels' storage form,
  // INT8 GEMM weights already in the GEMM's layout (verified as shipped).
  auto lowerQuantTypes = [&](mlir::ModuleOp module) {
    runPasses(module, [](mlir::OpPassManager &pm) {
      pm.addNestedPass<mlir::func::FuncOp>(quant::createLowerQuantTypesPass());
      pm.addNestedPass<mlir::func::FuncOp>(quant::createPackInt8WeightsPass());
    }, "lower quantized types");
  };
  if (int8) {
    if (withModelScales)
      log << "      " << withModelScales << " layers keep the model's own Q/DQ activation scales\n";
    if (calibrating) {
      phases.begin("calibrate (" + o.calibMethod + ")");
      CalibrationOptions copts;
      copts.method = o.calibMethod;
      copts.percentile = o.percentile;
      copts.skipNonFinite = o.calibSkipNonFinite;
      copts.hessians = gptq;
      copts.cachePath = o.calibCache;
      copts.modelSha256 = modelSha;
      copts.modelPath = o.model;
      copts.toolVersion = kToolVersion;
      CalibrationResult calibration = calibrate(reference, o.calib, copts, log);
      annotateRanges(*studentModule, calibration);
      report.calibMethod = o.calibMethod;
      report.calibSource = baseName(calibration.source);
      report.calibSamples = calibration.samples;
      report.calibSkippedNonFinite = calibration.skippedNonFinite;
      phases.end(std::to_string(calibration.ranges.size()) + " activation ranges from " +
                 std::to_string(calibration.samples) + " samples" +
                 (calibration.fromCache ? " (from the cache)" : ""));
    }
    phases.begin("quantize: INT8 " + o.quantMode);
    calibratedModule = mlir::OwningOpRef<mlir::ModuleOp>(studentModule->clone());
    quantize(*studentModule, {}, "");
    phases.end();
    if (stopEarly)
      return printIr(*studentModule);
    if (!o.allowUnquantized)
      requireSomeQuantized(layerPrecisionsOf(*studentModule), o.model);
    lowerQuantTypes(*studentModule);
  }

  if (!int8) // after the reference clone: calibration and layer checks see the Relu
    runPasses(*studentModule, [](mlir::OpPassManager &pm) {
      pm.addNestedPass<mlir::func::FuncOp>(passes::createFuseConvActivationPass());
    }, "fuse");

  // A large teacher makes every executor stream its weights (memory over speed).
  bool streamWeights = teacher.program().constantBytes() >= exec::kStreamWeightsMinBytes;
  auto student = std::make_unique<exec::ReferenceExecutor>(*studentModule, pool);
  student->setWeightStreaming(streamWeights);
  phases.begin("verify against the FP32 teacher on " + std::to_string(evalSet.samples.size()) +
               " samples");
  report.verification = verify(teacher, reference, *student, evalSet.samples, labels, log);
  if (o.minTop1 && (report.verification.outputs.empty() || report.verification.outputs[0].rows == 0))
    throw ToolError(o.model + ": --min-top1 needs output 0 to hold rows of scores (logits, "
                              "class scores) to take the argmax of; use --max-drop instead");
  // Re-quantizes with `fp32Layers` kept in FP32 and verifies; the student is then that one.
  auto requantize = [&](const std::vector<std::string> &fp32Layers, const std::string &why,
                        llvm::raw_ostream &progress) {
    studentModule = mlir::OwningOpRef<mlir::ModuleOp>(calibratedModule->clone());
    quantize(*studentModule, fp32Layers, why);
    lowerQuantTypes(*studentModule);
    student = std::make_unique<exec::ReferenceExecutor>(*studentModule, pool);
    student->setWeightStreaming(streamWeights);
    return verify(teacher, reference, *student, evalSet.samples, labels, progress);
  };
  if (int8 && o.autoFp32Threshold > 0) {
    // Layers whose output error exceeds the threshold go back to FP32, once.
    std::vector<std::string> worst;
    for (const auto &layer : report.verification.layers)
      if (layer.relError > o.autoFp32Threshold)
        worst.push_back(layer.node);
    if (!worst.empty()) {
      log << "      " << worst.size() << " layers exceed INT8 error "
          << llvm::format("%g", o.autoFp32Threshold)
          << ": re-quantizing with them in FP32\n";
      std::string why = llvm::formatv("INT8 output error above --auto-fp32 {0}",
                                      llvm::format("%g", o.autoFp32Threshold));
      report.verification = requantize(worst, why, log);
    }
  }
  if (int8 && o.accuracyControl) {
    std::string why = "kept in FP32 by --accuracy-control: among the INT8 layers that cost most "
                      "on their own";
    AccuracyControlResult control = controlAccuracy(
        report.verification, accuracyTarget,
        [&](const std::vector<std::string> &fp32Layers) {
          return requantize(fp32Layers, why, llvm::nulls());
        },
        log);
    report.verification = control.verification;
    report.accuracyControlTrials = control.trials;
  }
  report.layers = layerPrecisionsOf(*studentModule);
  report.fusions = fusions;
  size_t int8Layers = 0;
  for (const auto &l : report.layers)
    int8Layers += l.precision == "int8";
  auto [drop, dropMetric] = measuredDrop(report.verification);
  report.dropPercent = drop;
  report.dropMetric = dropMetric;
  report.passed = accuracyTarget.metBy(report.verification);
  phases.end(report.passed ? "ok" : "accuracy target missed");

  phases.begin("codegen: host C++ + runtime");
  fs::path target = fs::path(o.outDir) / o.profile;
  StagingDir staging(target);
  codegen::EmittedProgram emitted = codegen::emitProgram(
      student->program(), student->slotNames(),
      std::string("ds-optimize ") + kToolVersion + ", model " + report.modelFile + " (sha256 " +
          modelSha + "), profile " + o.profile + ", precision " + report.precision);
  codegen::BuiltArtifact built =
      codegen::buildHostArtifact(staging.path(), emitted, codegen::HostToolchain::builtIn());
  report.weightBytesBefore = floatWeightBytes(teacher.program());
  report.weightBytesAfter = emitted.weights.size();
  phases.end(std::to_string(emitted.weights.size()) + " bytes of weights, " +
             std::to_string(student->program().steps().size()) + " kernel calls");

  phases.begin("package " + target.string());
  writeFileDurably(staging.path() / "report.json", reportJson(report).dump(2) + "\n");
  writeFileDurably(staging.path() / "report.html", reportHtml(report));
  nlohmann::json manifest;
  manifest["format"] = "ds-artifact";
  manifest["version"] = 1;
  manifest["tool"] = {{"name", "ds-optimize"}, {"version", kToolVersion}};
  manifest["profile"] = o.profile;
  manifest["precision"] = report.precision;
  manifest["graph_digest"] = emitted.graphDigest;
  manifest["inputs"] = specsJson(student->inputs());
  manifest["outputs"] = specsJson(student->outputs());
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto &e : emitted.entries) {
    nlohmann::json shape = nlohmann::json::array();
    for (int64_t d : e.shape)
      shape.push_back(d);
    tensors.push_back({{"name", e.name}, {"offset", e.offset}, {"bytes", e.bytes},
                       {"dtype", rt::dtypeName(e.dtype)}, {"shape", shape}});
  }
  manifest["weights"] = {{"file", "weights.bin"}, {"bytes", emitted.weights.size()},
                         {"sha256", built.weightsSha256}, {"alignment", 64}, {"tensors", tensors}};
  manifest["library"] = {{"file", "lib/libds_model.so"}, {"sha256", built.librarySha256}};
  manifest["runner"] = {{"file", "bin/ds-model-run"}};
  nlohmann::json layers = nlohmann::json::array();
  for (const auto &l : report.layers)
    layers.push_back({{"node", l.node}, {"op", l.op}, {"precision", l.precision}});
  manifest["layers"] = layers;
  writeFileDurably(staging.path() / "manifest.json", manifest.dump(2) + "\n"); // last
  staging.publish();
  phases.end();

  // Summary.
  log << "\nsummary: " << report.modelFile << " -> " << target.string() << " (" << report.precision
      << ")\n";
  log << "  weights  " << report.weightBytesBefore << " -> " << report.weightBytesAfter << " bytes ("
      << llvm::format("%.2f", report.weightBytesBefore
                                  ? double(report.weightBytesAfter) / double(report.weightBytesBefore)
                                  : 0.0)
      << "x); " << int8Layers << " of " << report.layers.size() << " MatMul/Gemm/Conv layers INT8\n";
  printCoverage(log, report.layers, report.fusions);
  if (auto &task = report.verification.task)
    log << "  " << task->name << "  teacher " << llvm::format("%.4f", task->teacher) << ", student "
        << llvm::format("%.4f", task->student) << " (" << task->count << ")\n";
  for (const auto &out : report.verification.outputs) {
    log << "  output '" << out.name << "': cosine " << llvm::format("%.6f", out.cosine)
        << ", max error/scale " << llvm::format("%.3g", out.maxRelError);
    if (out.rows)
      log << ", top-1 agreement " << llvm::format("%.2f", 100 * out.top1Agreement) << "%, KL "
          << llvm::format("%.5f", out.meanKl) << " nats";
    log << "\n";
  }
  if (o.maxDropPercent)
    log << "  target   max drop " << llvm::format("%g", *o.maxDropPercent) << "% of " << dropMetric
        << ": measured " << (drop ? llvm::formatv("{0:F3}", *drop).str() : std::string("n/a")) << "% -> "
        << (AccuracyTarget{o.maxDropPercent, {}, {}}.metBy(report.verification) ? "met" : "MISSED") << "\n";
  if (o.maxMeanKl && !report.verification.outputs.empty())
    log << "  target   max KL " << llvm::format("%g", *o.maxMeanKl) << " nats on output '"
        << report.verification.outputs[0].name << "': measured "
        << llvm::format("%.5f", report.verification.outputs[0].meanKl) << " -> "
        << (AccuracyTarget{{}, o.maxMeanKl, {}}.metBy(report.verification) ? "met" : "MISSED") << "\n";
  if (o.minTop1 && !report.verification.outputs.empty())
    log << "  target   min top-1 agreement " << llvm::format("%g", *o.minTop1) << " on output '"
        << report.verification.outputs[0].name << "': measured "
        << llvm::format("%.4f", report.verification.outputs[0].top1Agreement) << " -> "
        << (AccuracyTarget{{}, {}, o.minTop1}.metBy(report.verification) ? "met" : "MISSED") << "\n";
  if (!report.passed && int8 && !o.accuracyControl)
    log << "  hint     --accuracy-control returns the INT8 layers that cost most on their own to "
           "FP32 until the target holds\n";
  log << "  time    ";
  for (const auto &[name, s] : phases.times())
    log << " " << name.substr(0, name.find_first_of(" :")) << " " << llvm::format("%.2f", s) << "s";
  log << "\n";
  return report.passed ? tools::kExitOk : tools::kExitAccuracy;
}

} // namespace ds::pipeline
