//===- FoldConstants.cpp - evaluate all-constant ops with their kernels ---===//
//
// DESIGN §2 phase 2 ("constant-fold"). The folder is the runtime kernel itself,
// so a folded value is bit-identical to what the executor or an artifact
// would compute at run time, for every op the kernel library has.
//
//===----------------------------------------------------------------------===//
#include "executor/ReferenceExecutor.h"
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"

#include "ds/runtime/Kernel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FOLDCONSTANTSPASS
#include "passes/Passes.h.inc"

namespace {

/// The results of `op` when every operand is a constant (or absent), computed
/// by its kernel on one thread; nullopt when it cannot be folded.
std::optional<std::vector<rt::Tensor>> evaluate(Operation *op, int64_t maxBytes) {
  StringRef name = op->getName().getStringRef();
  if (!name.consume_front("ds.") || isa<ds::ConstantOp, ds::NoneOp>(op) || op->getNumResults() == 0)
    return std::nullopt;
  rt::KernelFn kernel = rt::findKernel(name.str());
  if (!kernel)
    return std::nullopt;
  // Shape and Size need only their operand's type: with static shapes (e.g.
  // after --input-shape) they fold although the operand is computed.
  if (isa<ds::ShapeOp, ds::SizeOp>(op)) {
    auto type = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (type && type.hasStaticShape()) {
      rt::Tensor stand(exec::dtypeFromMlir(type.getElementType()) == rt::DType::Undefined
                           ? rt::DType::F32
                           : exec::dtypeFromMlir(type.getElementType()),
                       rt::Shape(type.getShape().begin(), type.getShape().end()));
      rt::AttrMap attrs = exec::kernelAttrs(op);
      static rt::ThreadPool one(1);
      rt::KernelContext ctx{attrs, one, 1};
      std::vector<rt::Tensor> results;
      try {
        kernel(ctx, {stand}, results);
      } catch (const std::exception &) {
        return std::nullopt;
      }
      return results;
    }
  }
  std::vector<rt::Tensor> inputs;
  int64_t inputBytes = 0;
  for (Value operand : op->getOperands()) {
    if (isa<NoneType>(operand.getType())) {
      inputs.emplace_back();
      continue;
    }
    auto t = constantTensor(operand);
    if (!t)
      return std::nullopt;
    inputBytes += static_cast<int64_t>(t->byteSize());
    inputs.push_back(*t);
  }
  // Cheap bound before running: elementwise-like ops are at most their inputs'
  // size; the result check below catches the rest (Expand, Tile, ...).
  if (inputBytes > 4 * maxBytes)
    return std::nullopt;
  static rt::ThreadPool pool(1);
  std::vector<rt::Tensor> results;
  try {
    rt::AttrMap attrs = exec::kernelAttrs(op);
    rt::KernelContext ctx{attrs, pool, op->getNumResults()};
    kernel(ctx, inputs, results);
  } catch (const std::exception &) {
    return std::nullopt; // leave it to run time, which reports the error with the node
  }
  if (results.size() != op->getNumResults())
    return std::nullopt;
  for (const auto &r : results)
    if (r.isAbsent() || static_cast<int64_t>(r.byteSize()) > maxBytes)
      return std::nullopt;
  return results;
}

struct FoldConstantsPass : impl::FoldConstantsPassBase<FoldConstantsPass> {
  using FoldConstantsPassBase::FoldConstantsPassBase;

  void runOnOperation() override {
    std::vector<Operation *> ops;
    getOperation().walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : ops) { // graph order: a folded op's users fold next
      auto results = evaluate(op, maxBytes);
      if (!results)
        continue;
      OpBuilder builder(op);
      std::vector<Value> replacements;
      bool ok = true;
      for (auto [i, t] : llvm::enumerate(*results)) {
        Value old = op->getResult(static_cast<unsigned>(i));
        auto oldType = dyn_cast<RankedTensorType>(old.getType());
        bool sameShape = oldType && oldType.hasStaticShape() && oldType.getShape() == llvm::ArrayRef(t.shape());
        // A more precise type is fine for ds users, not for func.return.
        if (!sameShape && llvm::any_of(old.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); })) {
          ok = false;
          break;
        }
        if (oldType && exec::dtypeFromMlir(oldType.getElementType()) != t.dtype()) {
          ok = false;
          break;
        }
        std::string prefix = blobPrefix(op) + ".folded" + (results->size() > 1 ? std::to_string(i) : "");
        try {
          replacements.push_back(createConstant(builder, op->getLoc(), t, prefix));
        } catch (const rt::Error &) { // an element type constants cannot hold
          ok = false;
          break;
        }
      }
      if (!ok) {
        for (Value v : replacements)
          v.getDefiningOp()->erase();
        continue;
      }
      for (auto [i, v] : llvm::enumerate(replacements))
        op->getResult(static_cast<unsigned>(i)).replaceAllUsesWith(v);
      op->erase();
    }
  }
};

} // namespace
} // namespace ds::passes
