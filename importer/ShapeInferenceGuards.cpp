//===- ShapeInferenceGuards.cpp -------------------------------------------===//
//
// Written here because no maintained libonnx release in Debian 12 carries the
// fixes: ONNX 1.12's convTransposeShapeInference reads W.dim(1) and one kernel
// extent per spatial axis of X without checking W's rank (a SEGV on a 148-byte
// fuzzed model: tests/fuzz/regression/onnx_import/convtranspose_weight_rank).
// The checks below are the ones upstream ONNX added to that function.
//
//===----------------------------------------------------------------------===//
#include "importer/ShapeInferenceGuards.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <mutex>
#include <string>

namespace ds::importer {

namespace {

/// Rank of input `index`, or -1 when it is absent, not a tensor or unranked.
int inputRank(onnx::InferenceContext &ctx, size_t index) {
  if (index >= ctx.getNumInputs())
    return -1;
  const onnx::TypeProto *type = ctx.getInputType(index);
  if (!type || type->value_case() != onnx::TypeProto::kTensorType || !type->tensor_type().has_shape())
    return -1;
  return type->tensor_type().shape().dim_size();
}

/// ConvTranspose: X is (N, C, D1..Dn), W is (C, M/group, k1..kn), n >= 1, and
/// kernel_shape (when given) has n entries.
void checkConvTranspose(onnx::InferenceContext &ctx) {
  int xRank = inputRank(ctx, 0), wRank = inputRank(ctx, 1);
  if (xRank >= 0 && xRank < 3)
    fail_shape_inference("ConvTranspose input X must have rank >= 3 (N x C x D1...), got rank ", xRank);
  if (wRank >= 0 && wRank < 3)
    fail_shape_inference("ConvTranspose weight W must have rank >= 3 (C x M/group x k1...), got rank ", wRank);
  if (xRank >= 0 && wRank >= 0 && xRank != wRank)
    fail_shape_inference("ConvTranspose X has rank ", xRank, " but W has rank ", wRank, "; they must match");
  if (const onnx::AttributeProto *kernel = ctx.getAttribute("kernel_shape"); kernel && xRank >= 3 &&
                                                                          kernel->ints_size() != xRank - 2)
    fail_shape_inference("ConvTranspose kernel_shape has ", kernel->ints_size(), " entries, X has ",
                         xRank - 2, " spatial axes");
  if (const onnx::AttributeProto *group = ctx.getAttribute("group"); group && group->i() <= 0)
    fail_shape_inference("ConvTranspose group must be positive, got ", group->i());
}

/// Runs `check` before the schema's own inference function, for every
/// registered version of `op` in the default domain.
void guard(const std::string &op, void (*check)(onnx::InferenceContext &)) {
  // get_all_schemas_with_history() returns copies: it only lists the versions,
  // Schema(op, version) then reaches the registered object itself.
  for (const onnx::OpSchema &listed : onnx::OpSchemaRegistry::get_all_schemas_with_history()) {
    if (listed.Name() != op || !listed.domain().empty())
      continue;
    const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(op, listed.SinceVersion(), "");
    if (!schema || schema->SinceVersion() != listed.SinceVersion())
      continue;
    onnx::InferenceFunction original = schema->GetTypeAndShapeInferenceFunction();
    // The registry hands out const schemas, but they live in its mutable
    // static map; this replaces the function before any inference runs, as
    // the registry's own registration sets it.
    const_cast<onnx::OpSchema *>(schema)->TypeAndShapeInferenceFunction(
        [check, original](onnx::InferenceContext &ctx) {
          check(ctx);
          if (original)
            original(ctx);
        });
  }
}

} // namespace

void installShapeInferenceGuards() {
  static std::once_flag once;
  std::call_once(once, [] { guard("ConvTranspose", checkConvTranspose); });
}

} // namespace ds::importer
