//===- Coverage.cpp - per-class quantization and per-fusion coverage -------===//
#include "pipeline/Coverage.h"

#include "passes/ConstantUtils.h"
#include "quantizers/Passes.h"
#include "tools/support/ToolSupport.h"

#include "llvm/ADT/STLExtras.h"

namespace ds::pipeline {

namespace {

std::string opClassOf(const std::string &op) {
  return op == "conv" || op == "quant_conv" ? "Conv" : "MatMul/Gemm";
}

} // namespace

std::vector<LayerPrecision> layerPrecisionsOf(mlir::ModuleOp module) {
  std::vector<LayerPrecision> layers;
  module.walk([&](mlir::Operation *op) {
    std::string opName = op->getName().stripDialect().str();
    if (opName == "quant_matmul" || opName == "quant_conv") {
      layers.push_back({passes::nodeName(op), opName, "int8", ""});
    } else if (opName == "matmul_nbits") { // quantized by the exporter, kept as it is
      auto bits = op->getAttrOfType<mlir::IntegerAttr>("bits");
      layers.push_back({passes::nodeName(op), opName,
                        "int" + std::to_string(bits ? bits.getInt() : 4), ""});
    } else if (quant::isQuantCandidate(op)) {
      auto reason = op->getAttrOfType<mlir::StringAttr>(quant::kFp32ReasonAttr);
      layers.push_back({passes::nodeName(op), opName, "fp32",
                        reason ? reason.str() : "FP32 precision requested"});
    }
  });
  return layers;
}

std::vector<LayerClassCoverage> layerCoverage(const std::vector<LayerPrecision> &layers) {
  std::vector<LayerClassCoverage> classes;
  for (const auto &l : layers) {
    std::string cls = opClassOf(l.op);
    auto it = llvm::find_if(classes, [&](const auto &c) { return c.opClass == cls; });
    if (it == classes.end())
      it = classes.insert(classes.end(), LayerClassCoverage{cls});
    ++it->candidates;
    if (l.precision != "fp32") {
      ++it->quantized;
    } else {
      ++it->reasons[l.reason];
      it->examples.emplace(l.reason, l.node);
    }
  }
  return classes;
}

void requireSomeQuantized(const std::vector<LayerPrecision> &layers, const std::string &model) {
  if (llvm::any_of(layers, [](const auto &l) { return l.precision != "fp32"; }))
    return;
  const char *accept = "; pass --allow-unquantized to write the FP32 artifact anyway";
  if (layers.empty())
    throw tools::ToolError(model + ": --precision int8 found no MatMul, Gemm or Conv with a float "
                                   "activation to quantize" + std::string(accept));
  std::map<std::string, int> reasons;
  std::map<std::string, std::string> examples;
  for (const auto &l : layers) {
    ++reasons[l.reason];
    examples.emplace(l.reason, l.node);
  }
  auto top = std::max_element(reasons.begin(), reasons.end(),
                              [](const auto &a, const auto &b) { return a.second < b.second; });
  throw tools::ToolError(model + ": --precision int8 quantized none of the " +
                         std::to_string(layers.size()) + " candidate layers; " +
                         std::to_string(top->second) + " stay FP32 because: " + top->first +
                         " (e.g. node '" + examples[top->first] + "')" + accept);
}

std::vector<FusionCoverage> fusionCoverage(mlir::ModuleOp optimized) {
  // The fused op and the decomposed op each pattern is anchored at.
  static const std::vector<std::tuple<const char *, const char *, const char *, const char *>> kFusions = {
      {"RMSNorm", "ds.rms_norm", "Sqrt", "ds.sqrt"},
      {"attention", "ds.attention", "Softmax", "ds.softmax"},
      {"rotary", "ds.rotary", "Neg", "ds.neg"},
      {"SwiGLU", "ds.swiglu", "Sigmoid", "ds.sigmoid"},
  };
  std::map<std::string, int> counts;
  optimized.walk([&](mlir::Operation *op) { ++counts[op->getName().getStringRef().str()]; });
  std::vector<FusionCoverage> out;
  for (const auto &[name, fusedOp, anchor, anchorOp] : kFusions)
    out.push_back({name, anchor, counts[fusedOp], counts[anchorOp]});
  return out;
}

void printCoverage(llvm::raw_ostream &os, const std::vector<LayerPrecision> &layers,
                   const std::vector<FusionCoverage> &fusions) {
  for (const auto &c : layerCoverage(layers)) {
    os << "  layers   " << c.opClass << ": " << c.quantized << " of " << c.candidates << " quantized";
    for (const auto &[why, n] : c.reasons)
      os << "; " << n << " FP32: " << why << " (e.g. '" << c.examples.at(why) << "')";
    os << "\n";
  }
  os << "  fused   ";
  for (const auto &f : fusions) {
    os << " " << f.name << " " << f.fused;
    if (f.unfused)
      os << " (" << f.unfused << " " << f.anchor << " left unfused)";
    os << (&f == &fusions.back() ? "\n" : ",");
  }
}

} // namespace ds::pipeline
