//===- ShapeHelpers.cpp ---------------------------------------------------===//
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>

namespace ds::rt {

Shape broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error("shapes " + shapeToString(a) + " and " + shapeToString(b) +
                  " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  if (axis < lo || axis > hi)
    throw Error("axis " + std::to_string(axis) + " is out of range for rank " +
                std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> rowMajorStrides(const Shape &shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::vector<int64_t> broadcastStrides(const Shape &shape, const Shape &target) {
  DS_CHECK(shape.size() <= target.size(), "cannot broadcast " + shapeToString(shape) +
                                              " to " + shapeToString(target));
  std::vector<int64_t> own = rowMajorStrides(shape);
  std::vector<int64_t> out(target.size(), 0);
  size_t offset = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    DS_CHECK(shape[i] == target[offset + i] || shape[i] == 1,
             "cannot broadcast " + shapeToString(shape) + " to " + shapeToString(target));
    out[offset + i] = shape[i] == 1 ? 0 : own[i];
  }
  return out;
}

} // namespace ds::rt
