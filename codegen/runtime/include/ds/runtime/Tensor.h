//===- Tensor.h - the runtime's tensor value ------------------------------===//
//
// A dense, row-major tensor as the kernel library sees it. Used by both drivers
// of the kernels (DESIGN §2): the in-process reference executor and, later, the
// generated code in artifacts. Depends on nothing but the C++ standard library.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::rt {

/// Element types, numbered as ONNX's TensorProto.DataType so conversions are trivial.
enum class DType : int32_t {
  Undefined = 0,
  F32 = 1,
  U8 = 2,
  I8 = 3,
  U16 = 4,
  I16 = 5,
  I32 = 6,
  I64 = 7,
  String = 8, // not supported by kernels; kept so errors can name it
  Bool = 9,
  F16 = 10,
  F64 = 11,
  U32 = 12,
  U64 = 13,
  BF16 = 16,
};

/// Bytes per element (0 for Undefined/String).
size_t dtypeSize(DType dtype);
/// ONNX-style name: "float", "int64", "bool", ...
const char *dtypeName(DType dtype);

/// The error every kernel throws on bad input (shape mismatch, bad attribute, ...).
/// The executor turns it into a one-line diagnostic naming the node.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

#define DS_CHECK(cond, msg)                                                    \
  do {                                                                         \
    if (!(cond))                                                               \
      throw ::ds::rt::Error(std::string(msg));                                 \
  } while (0)

using Shape = std::vector<int64_t>;

/// Number of elements of `shape` (1 for a scalar); throws on negative dims or overflow.
int64_t shapeNumel(const Shape &shape);
/// "[2, 3, 4]"
std::string shapeToString(const Shape &shape);

/// A tensor value: dtype, shape and a pointer to its elements. Storage is shared
/// (copying a Tensor is cheap and aliases the same buffer); it may be owned heap
/// memory or borrowed memory (e.g. mmap'd weights) kept alive by `holder`.
/// An absent optional input is a default-constructed Tensor (dtype Undefined).
class Tensor {
public:
  Tensor() = default;
  /// Allocates zero-initialized storage, 64-byte aligned.
  Tensor(DType dtype, Shape shape);
  /// Allocates storage without zeroing it (64-byte aligned; recycled buffers
  /// hold old values). Only for results whose every element the caller writes:
  /// zeroing a buffer that is overwritten anyway cost ~5% of a small LM.
  static Tensor uninitialized(DType dtype, Shape shape);
  /// Wraps borrowed memory; `holder` keeps it alive (may be null for static data).
  static Tensor borrow(DType dtype, Shape shape, const void *data,
                       std::shared_ptr<const void> holder);

  bool isAbsent() const { return dtype_ == DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_ ? *shape_ : noDims(); }
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  int64_t dim(int64_t i) const { return shape().at(static_cast<size_t>(i)); }
  int64_t numel() const { return numel_; }
  size_t byteSize() const { return static_cast<size_t>(numel_) * dtypeSize(dtype_); }
  /// Whether something keeps the storage alive: owned storage, or borrowed
  /// with a holder (mapped weights). Caller memory borrowed without a holder
  /// may be rewritten behind the tensor's back, so caches must not key on it.
  bool holdsStorage() const { return holder_ != nullptr; }

  /// Typed element access; throws if T does not match the dtype.
  template <typename T> const T *data() const;
  template <typename T> T *mutableData();
  const void *rawData() const { return data_; }
  void *mutableRawData() { return const_cast<void *>(data_); }

  /// Same storage, new shape (element count must match).
  Tensor reshaped(Shape shape) const;
  /// Deep copy into fresh owned storage.
  Tensor clone() const;

  /// Reads element i as double / int64 (any numeric dtype); for shape and index inputs.
  double getAsDouble(int64_t i) const;
  int64_t getAsInt64(int64_t i) const;
  /// All elements as int64 (for shape/axes/indices inputs).
  std::vector<int64_t> toInt64Vector() const;

private:
  void allocate(bool zeroed);
  void setShape(Shape shape);
  static const Shape &noDims();

  DType dtype_ = DType::Undefined;
  // Shared and immutable: copying a Tensor (every kernel's operands are copies)
  // bumps a count instead of allocating a vector. Null for rank 0.
  std::shared_ptr<const Shape> shape_;
  int64_t numel_ = 0;
  std::shared_ptr<const void> holder_;
  const void *data_ = nullptr;
};

/// Maps a C++ element type to its DType.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::I8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::I16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::U16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::U32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::U64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };

template <typename T> const T *Tensor::data() const {
  DS_CHECK(dtype_ == DTypeOf<T>::value,
           std::string("tensor dtype is ") + dtypeName(dtype_) + ", expected " +
               dtypeName(DTypeOf<T>::value));
  return static_cast<const T *>(data_);
}
template <typename T> T *Tensor::mutableData() {
  return const_cast<T *>(data<T>());
}

} // namespace ds::rt
