//===- ds-opt.cpp - mlir-opt for the ds dialect and ds-optimize's passes ---===//
//
// Round-trips ds IR and runs any registered pass or pipeline, so every phase of
// ds-optimize can be reproduced and lit-tested on its own.
//===----------------------------------------------------------------------===//
#include "dialects/ds/DsDialect.h"
#include "passes/Passes.h"
#include "quantizers/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<ds::DsDialect, mlir::func::FuncDialect, mlir::quant::QuantDialect>();
  mlir::registerTransformsPasses();
  ds::passes::registerDsPassesPasses();
  ds::quant::registerDsQuantPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ds-optimize IR optimizer driver\n", registry));
}
