//===- Dispatch.h - run a templated kernel body for a tensor's dtype -------===//
//
//   dispatchDType<float, double, int32_t, int64_t>(t.dtype(), "Relu", [&](auto tag) {
//     using T = typename decltype(tag)::type;
//     ...
//   });
//
// Throws rt::Error naming the op and the dtype when the dtype is not in the list.
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

namespace ds::rt {

template <typename T> struct TypeTag { using type = T; };

template <typename... Ts, typename Fn>
void dispatchDType(DType dtype, const char *opName, Fn &&fn) {
  bool matched = ((dtype == DTypeOf<Ts>::value ? (fn(TypeTag<Ts>{}), true) : false) || ...);
  if (!matched)
    throw Error(std::string(opName) + ": element type " + dtypeName(dtype) +
                " is not supported");
}

/// The common sets.
#define DS_FLOAT_TYPES float, double
#define DS_INT_TYPES int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t
#define DS_NUMERIC_TYPES DS_FLOAT_TYPES, DS_INT_TYPES
#define DS_ALL_TYPES DS_NUMERIC_TYPES, bool

} // namespace ds::rt
