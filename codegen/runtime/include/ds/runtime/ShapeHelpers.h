//===- ShapeHelpers.h - shape rules shared by kernels, importer and codegen ===//
#pragma once

#include "ds/runtime/Tensor.h"

namespace ds::rt {

/// Numpy-style multidirectional broadcast of two shapes; throws when incompatible.
Shape broadcastShapes(const Shape &a, const Shape &b);

/// Normalizes a possibly negative axis into [0, rank); throws when out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank);

/// Row-major strides of `shape` (in elements).
std::vector<int64_t> rowMajorStrides(const Shape &shape);

/// Strides to read an operand of shape `shape` as if broadcast to `target`
/// (0 stride on broadcast dims); `shape` is right-aligned against `target`.
std::vector<int64_t> broadcastStrides(const Shape &shape, const Shape &target);

} // namespace ds::rt
