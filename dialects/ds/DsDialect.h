//===- DsDialect.h - the ds dialect ----------------------------------------===//
//
// Included by everything that builds or reads ds IR: the importer, passes,
// the reference executor and code generators.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/ds/DsTraits.h"

#include "dialects/ds/DsOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/ds/DsOps.h.inc"
