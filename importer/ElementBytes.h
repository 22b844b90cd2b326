//===- ElementBytes.h - the raw element bytes of a constant attribute -----===//
#pragma once

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <optional>

namespace ds::importer {

/// The little-endian element bytes of a dense or dense_resource constant;
/// `splat` says they hold one element that stands for all. nullopt for other
/// attributes (and for bool, whose dense storage is bit-packed).
inline std::optional<llvm::ArrayRef<char>> elementBytes(mlir::ElementsAttr attr, bool &splat) {
  splat = false;
  if (attr.getElementType().isInteger(1))
    return std::nullopt;
  if (auto dense = llvm::dyn_cast<mlir::DenseElementsAttr>(attr)) {
    splat = dense.isSplat();
    return dense.getRawData();
  }
  if (auto resource = llvm::dyn_cast<mlir::DenseResourceElementsAttr>(attr))
    if (mlir::AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

} // namespace ds::importer
