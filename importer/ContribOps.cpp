//===- ContribOps.cpp - com.microsoft operators lowered onto ds ops --------===//
//
// One function per operator, each written from ORT's ContribOperators.md and
// checked against ONNX Runtime in tests/e2e/test_contrib_ops.py.
//
//===----------------------------------------------------------------------===//
#include "importer/ContribOps.h"

#include "importer/ElementBytes.h"

#include "dialects/ds/DsDialect.h"

#include <cmath>
#include <limits>
#include <map>

using namespace mlir;

namespace ds::importer {

namespace {

int64_t intAttr(const onnx::NodeProto &node, const std::string &name, int64_t dflt) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return a.i();
  return dflt;
}

float floatAttr(const onnx::NodeProto &node, const std::string &name, float dflt) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return a.f();
  return dflt;
}

/// Small helpers over the builder for the shape arithmetic the lowerings write.
struct Emit {
  ContribBuilder &b;
  OpBuilder &ob() { return b.builder(); }
  NamedAttribute attr(const char *name, int64_t v) {
    return ob().getNamedAttr(name, ob().getI64IntegerAttr(v));
  }
  NamedAttribute attr(const char *name, float v) {
    return ob().getNamedAttr(name, ob().getF32FloatAttr(v));
  }
  NamedAttribute ints(const char *name, ArrayRef<int64_t> v) {
    return ob().getNamedAttr(name, ob().getDenseI64ArrayAttr(v));
  }
  Value op(const std::string &name, ArrayRef<Value> operands, ArrayRef<NamedAttribute> attrs = {}) {
    return b.emit(name, operands, attrs)->getResult(0);
  }
  Value i64(ArrayRef<int64_t> v) { return b.constantI64(v); }
  Value scalar(int64_t v) { return b.constantI64({v}, /*scalar=*/true); }
  /// dim `axis` of `v` as a scalar int64.
  Value dim(Value v, int64_t axis) {
    return op("ds.gather", {op("ds.shape", {v}), scalar(axis)}, {attr("axis", int64_t{0})});
  }
  Value oneD(Value scalarValue) { return op("ds.unsqueeze", {scalarValue, i64({0})}); }
  Value reshape(Value v, ArrayRef<Value> parts) {
    return op("ds.reshape", {v, op("ds.concat", parts, {attr("axis", int64_t{0})})});
  }
  Value transpose(Value v, ArrayRef<int64_t> perm) { return op("ds.transpose", {v}, {ints("perm", perm)}); }
};

/// SimplifiedLayerNormalization(X, scale): RMSNorm over the last axis.
void lowerSimplifiedLayerNorm(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  int64_t axis = intAttr(node, "axis", -1);
  if (axis != -1)
    b.fail("axis " + std::to_string(axis) + " is not supported (RMSNorm over the last axis only; "
           "re-export with axis -1)");
  if (b.resultUsed(1))
    b.fail("the inv_std_var output is not supported (training only)");
  Value y = e.op("ds.rms_norm", {b.operand(0), b.operand(1)},
                 {e.attr("epsilon", floatAttr(node, "epsilon", 1e-5f))});
  b.setResult(0, y);
}

/// Skip(Simplified)LayerNormalization: sum = input + skip (+ bias), then
/// RMSNorm (simplified) or LayerNorm (gamma, beta) of the sum; output 3 is the sum.
void lowerSkipLayerNorm(const onnx::NodeProto &node, ContribBuilder &b, bool simplified) {
  Emit e{b};
  if (b.resultUsed(1) || b.resultUsed(2))
    b.fail("the mean / inv_std_var outputs are not supported (training only)");
  Value sum = e.op("ds.add", {b.operand(0), b.operand(1)});
  Value bias = b.operand(simplified ? 3 : 4);
  if (bias)
    sum = e.op("ds.add", {sum, bias});
  float eps = floatAttr(node, "epsilon", 1e-12f);
  Value y;
  if (simplified) {
    y = e.op("ds.rms_norm", {sum, b.operand(2)}, {e.attr("epsilon", eps)});
  } else {
    SmallVector<Value> operands = {sum, b.operand(2)};
    if (Value beta = b.operand(3))
      operands.push_back(beta);
    y = e.op("ds.layer_normalization", operands, {e.attr("axis", int64_t{-1}), e.attr("epsilon", eps)});
  }
  b.setResult(0, y);
  b.setResult(3, sum);
}

/// cos/sin rows for `positions` ([S] or [B, S]) widened to the full head size:
/// the caches hold D/2 columns, ds.rotary reads D (rotate-half: both halves).
std::pair<Value, Value> rotaryTables(Emit &e, Value cosCache, Value sinCache, Value positions) {
  auto full = [&](Value cache) {
    Value rows = e.op("ds.gather", {cache, positions}, {e.attr("axis", int64_t{0})});
    return e.op("ds.concat", {rows, rows}, {e.attr("axis", int64_t{-1})});
  };
  return {full(cosCache), full(sinCache)};
}

void requireFullRotateHalf(const onnx::NodeProto &node, ContribBuilder &b, const char *interleavedAttr) {
  if (intAttr(node, interleavedAttr, 0))
    b.fail(std::string(interleavedAttr) + "=1 (interleaved pairs) is not supported yet; export "
           "with rotate-half rotary (the Hugging Face Llama form)");
}

/// RotaryEmbedding(input, position_ids, cos_cache, sin_cache). input is
/// [B, S, N*D] (3-D, with num_heads) or [B, N, S, D]; position_ids [B, S], or
/// [1] as an offset added to 0..S-1.
void lowerRotaryEmbedding(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  requireFullRotateHalf(node, b, "interleaved");
  if (intAttr(node, "rotary_embedding_dim", 0) != 0)
    b.fail("rotary_embedding_dim (partial rotary) is not supported yet");
  if (intAttr(node, "is_packed_batching", 0))
    b.fail("is_packed_batching=1 is not supported");
  if (floatAttr(node, "scale", 1.0f) != 1.0f)
    b.fail("scale other than 1 is not supported");
  Value x = b.operand(0), pos = b.operand(1);
  int64_t heads = intAttr(node, "num_heads", 0);
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto posType = dyn_cast<RankedTensorType>(pos.getType());
  if (!xType || (xType.getRank() != 3 && xType.getRank() != 4))
    b.fail("input must be a ranked 3-D [batch, seq, hidden] or 4-D [batch, heads, seq, head] tensor");
  if (!posType || posType.getRank() > 2)
    b.fail("position_ids must be [batch, seq] or a one-element offset");
  bool offset = posType.getRank() == 1; // [1]: positions offset + 0..S-1
  if (offset) {
    Value seq = e.dim(x, xType.getRank() == 3 ? 1 : 2);
    Value start = e.op("ds.squeeze", {pos, e.i64({0})});
    pos = e.op("ds.range", {start, e.op("ds.add", {start, seq}), e.scalar(1)});
  }
  auto [cosFull, sinFull] = rotaryTables(e, b.operand(2), b.operand(3), pos); // [B,S,D] or [S,D]
  if (xType.getRank() == 4) {
    // [B, N, S, D] against [B, 1, S, D] (or [S, D]).
    Value c = offset ? cosFull : e.op("ds.unsqueeze", {cosFull, e.i64({1})});
    Value s = offset ? sinFull : e.op("ds.unsqueeze", {sinFull, e.i64({1})});
    b.setResult(0, e.op("ds.rotary", {x, c, s}));
    return;
  }
  if (heads <= 0)
    b.fail("num_heads is required for a 3-D input");
  // [B, S, N*D] -> [B, S, N, D] with tables [B, S, 1, D] (or [S, 1, D]).
  Value split = e.reshape(x, {e.i64({0, 0}), e.i64({heads, -1})});
  Value c = e.op("ds.unsqueeze", {cosFull, e.i64({-2})});
  Value s = e.op("ds.unsqueeze", {sinFull, e.i64({-2})});
  Value y = e.op("ds.rotary", {split, c, s});
  b.setResult(0, e.reshape(y, {e.i64({0, 0, -1})}));
}

/// GroupQueryAttention (ORT CPU semantics, batch rows without left padding):
/// query [B, S, H*D] (or packed QKV), key/value [B, S, KVH*D], past [B, KVH,
/// P, D] (present = concat(past, new) along the sequence: past and present do
/// not share a buffer), optional rotary (do_rotary) at positions P..P+S-1,
/// causal over P + S keys, query head h reading KV head h / (H / KVH).
void lowerGroupQueryAttention(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  int64_t heads = intAttr(node, "num_heads", 0), kvHeads = intAttr(node, "kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
    b.fail("num_heads (" + std::to_string(heads) + ") must be a positive multiple of kv_num_heads (" +
           std::to_string(kvHeads) + ")");
  if (intAttr(node, "local_window_size", -1) != -1)
    b.fail("local_window_size (sliding-window attention) is not supported yet");
  if (floatAttr(node, "softcap", 0.0f) != 0.0f)
    b.fail("softcap is not supported yet");
  if (intAttr(node, "smooth_softmax", 0))
    b.fail("smooth_softmax is not supported yet");
  for (int i = 9; i < 12; ++i)
    if (b.operand(i))
      b.fail("input " + std::to_string(i) + " (position_ids / attention_bias / head_sink) is not "
             "supported yet");
  bool rotary = intAttr(node, "do_rotary", 0) != 0;
  if (rotary)
    requireFullRotateHalf(node, b, "rotary_interleaved");
  Value query = b.operand(0), key = b.operand(1), value = b.operand(2);
  Value pastKey = b.operand(3), pastValue = b.operand(4);
  if (!pastKey || !pastValue)
    b.fail("past_key and past_value are required (a decoder-with-past graph)");
  auto pastType = dyn_cast<RankedTensorType>(pastKey.getType());
  if (!pastType || pastType.getRank() != 4)
    b.fail("past_key must be a 4-D [batch, kv_heads, past, head_size] tensor");
  // The head size: past_key's last dim, else the rotary caches' width (D/2
  // columns), else 1/scale^2 (the genai builder leaves the cache dim symbolic).
  int64_t D = pastType.getDimSize(3);
  auto cosType = b.operand(7) ? dyn_cast<RankedTensorType>(b.operand(7).getType()) : RankedTensorType();
  if (ShapedType::isDynamic(D) && rotary && cosType && cosType.getRank() == 2 &&
      !ShapedType::isDynamic(cosType.getDimSize(1)))
    D = 2 * cosType.getDimSize(1);
  if (float sc = floatAttr(node, "scale", 0.0f); ShapedType::isDynamic(D) && sc > 0.0f) {
    double d = 1.0 / (static_cast<double>(sc) * sc);
    if (std::abs(d - std::round(d)) < 1e-3 && d >= 1)
      D = static_cast<int64_t>(std::round(d));
  }
  if (ShapedType::isDynamic(D) || D <= 0)
    b.fail("the head size is unknown: past_key's last dim is dynamic and neither cos_cache nor "
           "scale gives it");
  b.refineInputDim(pastKey, 3, D);
  b.refineInputDim(pastValue, 3, D);
  if (!ShapedType::isDynamic(pastType.getDimSize(1)) && pastType.getDimSize(1) != kvHeads)
    b.fail("past_key has " + std::to_string(pastType.getDimSize(1)) + " heads, kv_num_heads is " +
           std::to_string(kvHeads));
  if (!key != !value)
    b.fail("key and value must both be given, or both be empty (packed QKV in query)");
  if (!key) { // packed [B, S, (H + 2 KVH) * D]
    Operation *split = b.emit("ds.split", {query, e.i64({heads * D, kvHeads * D, kvHeads * D})},
                              {e.attr("axis", int64_t{-1})}, 3);
    query = split->getResult(0);
    key = split->getResult(1);
    value = split->getResult(2);
  }
  auto heads4 = [&](Value v, int64_t n) { // [B, S, n*D] -> [B, n, S, D]
    return e.transpose(e.reshape(v, {e.i64({0, 0}), e.i64({n, D})}), {0, 2, 1, 3});
  };
  Value q = heads4(query, heads), k = heads4(key, kvHeads), v = heads4(value, kvHeads);
  Value past = e.dim(pastKey, 2), seq = e.dim(query, 1);
  Value total = e.op("ds.add", {past, seq});
  Value qPositions = e.op("ds.range", {past, total, e.scalar(1)}); // [S]
  if (rotary) {
    if (!b.operand(7) || !b.operand(8))
      b.fail("do_rotary=1 needs cos_cache and sin_cache");
    auto [c, s] = rotaryTables(e, b.operand(7), b.operand(8), qPositions); // [S, D]
    q = e.op("ds.rotary", {q, c, s});
    k = e.op("ds.rotary", {k, c, s});
  }
  Value presentKey = e.op("ds.concat", {pastKey, k}, {e.attr("axis", int64_t{2})});
  Value presentValue = e.op("ds.concat", {pastValue, v}, {e.attr("axis", int64_t{2})});
  auto repeatKv = [&](Value kv) { // [B, KVH, T, D] -> [B, H, T, D]
    if (heads == kvHeads)
      return kv;
    Value batch = e.oneD(e.dim(kv, 0)), length = e.oneD(e.dim(kv, 2));
    Value wide = e.op("ds.expand", {e.op("ds.unsqueeze", {kv, e.i64({2})}),
                                    e.op("ds.concat", {batch, e.i64({kvHeads, heads / kvHeads}), length,
                                                       e.i64({D})},
                                         {e.attr("axis", int64_t{0})})});
    return e.reshape(wide, {batch, e.i64({heads}), length, e.i64({D})});
  };
  Value kT = e.transpose(repeatKv(presentKey), {0, 1, 3, 2});
  Value vAll = repeatKv(presentValue);
  // Causal: the query at position p sees keys 0..p.
  Value keyPositions = e.op("ds.range", {e.scalar(0), total, e.scalar(1)});                 // [T]
  Value mask = e.op("ds.less_or_equal", {keyPositions, e.op("ds.unsqueeze", {qPositions, e.i64({1})})}); // [S, T]
  float scale = floatAttr(node, "scale", 0.0f);
  float divisor = scale == 0.0f ? std::sqrt(static_cast<float>(D)) : 1.0f / scale;
  Value y = e.op("ds.attention", {q, kT, vAll, mask},
                 {e.attr("scale_divisor", divisor),
                  e.attr("masked_value", std::numeric_limits<float>::lowest())});
  b.setResult(0, e.reshape(e.transpose(y, {0, 2, 1, 3}), {e.i64({0, 0, -1})}));
  b.setResult(1, presentKey);
  b.setResult(2, presentValue);
}

/// Checks MatMulNBits' constants against K, N, bits and block_size (ORT's
/// layout: per output column n, blocks of `blockSize` codes along K, low bits
/// first; a scale per block; zero points packed like the codes or float).
void checkNBitsOperands(ContribBuilder &b, int64_t K, int64_t N, int64_t bits, int64_t blockSize,
                        Value codes, Value scales, Value zeroPoints) {
  auto check = [&](Value v, const char *what, Type want, int64_t count) {
    auto c = v ? v.getDefiningOp<ds::ConstantOp>() : ds::ConstantOp();
    if (!c)
      b.fail(std::string(what) + " must be a constant initializer");
    auto type = cast<ShapedType>(c.getValue().getType());
    if (type.getElementType() != want || type.getNumElements() != count) {
      std::string have, expect;
      llvm::raw_string_ostream(have) << type.getElementType();
      llvm::raw_string_ostream(expect) << want;
      b.fail(std::string(what) + " has " + std::to_string(type.getNumElements()) + " " + have +
             " elements, expected " + std::to_string(count) + " " + expect + " (K " +
             std::to_string(K) + ", N " + std::to_string(N) + ", bits " + std::to_string(bits) +
             ", block_size " + std::to_string(blockSize) + ")");
    }
  };
  MLIRContext *ctx = codes.getContext();
  Type u8 = IntegerType::get(ctx, 8, IntegerType::Unsigned), f32 = Float32Type::get(ctx);
  const int64_t blocks = (K + blockSize - 1) / blockSize, blobSize = blockSize * bits / 8;
  check(codes, "B (the packed weights)", u8, N * blocks * blobSize);
  check(scales, "scales", f32, N * blocks);
  if (zeroPoints) {
    bool floatZp = cast<ShapedType>(zeroPoints.getType()).getElementType().isF32();
    check(zeroPoints, "zero_points", floatZp ? f32 : u8, floatZp ? N * blocks : N * ((blocks * bits + 7) / 8));
  }
}

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?) -> ds.matmul_nbits:
/// the weights stay in the exporter's packed codes (an INT4 model's artifact
/// holds INT4 weights) and the kernel dequantizes them as it multiplies.
void lowerMatMulNBits(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  int64_t K = intAttr(node, "K", 0), N = intAttr(node, "N", 0), bits = intAttr(node, "bits", 4),
          blockSize = intAttr(node, "block_size", 0);
  if (K <= 0 || N <= 0 || K > (int64_t{1} << 24) || N > (int64_t{1} << 24))
    b.fail("K and N must be positive (and at most 2^24), got K " + std::to_string(K) + ", N " +
           std::to_string(N));
  if (bits != 4 && bits != 8)
    b.fail("bits " + std::to_string(bits) + " is not supported; supported: 4, 8");
  if (blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)))
    b.fail("block_size " + std::to_string(blockSize) + " must be a power of 2 from 16 to 256");
  if (b.operand(4))
    b.fail("g_idx (act-order groups) is not supported; re-quantize without g_idx");
  checkNBitsOperands(b, K, N, bits, blockSize, b.operand(1), b.operand(2), b.operand(3));
  Value zp = b.operand(3) ? b.operand(3) : b.none();
  Value bias = b.operand(5) ? b.operand(5) : b.none();
  b.setResult(0, e.op("ds.matmul_nbits", {b.operand(0), b.operand(1), b.operand(2), zp, bias},
                      {e.attr("K", K), e.attr("N", N), e.attr("bits", bits),
                       e.attr("block_size", blockSize)}));
}

/// The constant behind `v`: a ds.constant, or a Reshape of one (the genai
/// builder reshapes the packed embedding); `dims` gets the shape `v` has.
std::optional<ArrayRef<char>> constantBytes(Value v, SmallVector<int64_t> &dims, Type &elem) {
  Value source = v;
  std::optional<SmallVector<int64_t>> reshaped;
  if (auto reshape = v.getDefiningOp<ds::ReshapeOp>()) {
    auto shape = reshape->getOperand(1).getDefiningOp<ds::ConstantOp>();
    auto values = shape ? dyn_cast<DenseIntElementsAttr>(shape.getValue()) : DenseIntElementsAttr();
    if (!values)
      return std::nullopt;
    reshaped.emplace();
    for (const APInt &d : values.getValues<APInt>())
      reshaped->push_back(d.getSExtValue());
    source = reshape->getOperand(0);
  }
  auto c = source.getDefiningOp<ds::ConstantOp>();
  if (!c)
    return std::nullopt;
  auto type = cast<ShapedType>(c.getValue().getType());
  bool splat = false;
  auto bytes = elementBytes(c.getValue(), splat);
  if (!bytes || splat)
    return std::nullopt;
  elem = type.getElementType();
  dims.assign(type.getShape().begin(), type.getShape().end());
  if (reshaped) {
    int64_t numel = 1, inferred = -1;
    for (size_t i = 0; i < reshaped->size(); ++i) {
      if ((*reshaped)[i] == -1)
        inferred = static_cast<int64_t>(i);
      else if ((*reshaped)[i] == 0 && i < dims.size())
        (*reshaped)[i] = dims[i];
      if ((*reshaped)[i] > 0)
        numel *= (*reshaped)[i];
    }
    if (inferred >= 0 && numel > 0)
      (*reshaped)[static_cast<size_t>(inferred)] = type.getNumElements() / numel;
    dims = *reshaped;
  }
  return bytes;
}

/// GatherBlockQuantized(data, indices, scales): rows of a block-quantized table
/// (the genai builder's INT4 embedding) -> ds.gather_block_quantized, which
/// dequantizes only the rows it gathers: (q - zp) * scale per block along the
/// last axis, zp 2^(bits-1).
void lowerGatherBlockQuantized(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  int64_t bits = intAttr(node, "bits", 4), block = intAttr(node, "block_size", 128);
  if (intAttr(node, "gather_axis", 0) != 0)
    b.fail("gather_axis other than 0 is not supported");
  if (bits != 4 && bits != 8)
    b.fail("bits " + std::to_string(bits) + " is not supported; supported: 4, 8");
  if (block < 16 || (block & (block - 1)))
    b.fail("block_size " + std::to_string(block) + " must be a power of 2 of at least 16");
  if (b.operand(3))
    b.fail("zero_points are not supported yet (the genai builder writes none)");
  SmallVector<int64_t> dataDims, scaleDims;
  Type dataElem, scaleElem;
  auto data = constantBytes(b.operand(0), dataDims, dataElem);
  auto scales = constantBytes(b.operand(2), scaleDims, scaleElem);
  if (!data || !dataElem.isUnsignedInteger(8) || dataDims.size() != 2)
    b.fail("data must be a constant uint8 [rows, packed columns] tensor (or a Reshape of one)");
  if (intAttr(node, "quantize_axis", 1) != 1)
    b.fail("quantize_axis must be the last axis (1)");
  const int64_t rows = dataDims[0], cols = dataDims[1] * (8 / bits), blocks = (cols + block - 1) / block;
  if (!scales || !scaleElem.isF32() || static_cast<int64_t>(scales->size()) != rows * blocks * 4)
    b.fail("scales must be a constant float tensor of " + std::to_string(rows * blocks) +
           " elements (rows " + std::to_string(rows) + " x " + std::to_string(blocks) + " blocks)");
  // The kernel reads rows of bytes whatever the shape: behind a Reshape (the
  // builder's view of the head's codes as a table) it takes the codes the head
  // reads too, one copy in the artifact.
  Value table = b.operand(0);
  if (auto reshape = table.getDefiningOp<ds::ReshapeOp>())
    table = reshape->getOperand(0);
  b.setResult(0, e.op("ds.gather_block_quantized", {table, b.operand(1), b.operand(2)},
                      {e.attr("bits", bits), e.attr("block_size", block),
                       e.attr("columns", cols)}));
}

/// FastGelu(X, bias?): the tanh approximation; BiasGelu(A, B): exact GELU of
/// A + B; QuickGelu(X): x * sigmoid(alpha x).
void lowerGelus(const onnx::NodeProto &node, ContribBuilder &b) {
  Emit e{b};
  Value x = b.operand(0);
  if (b.operand(1))
    x = e.op("ds.add", {x, b.operand(1)});
  const std::string &op = node.op_type();
  if (op == "QuickGelu") {
    Value alpha = b.constantF32({floatAttr(node, "alpha", 1.702f)}, {});
    b.setResult(0, e.op("ds.mul", {x, e.op("ds.sigmoid", {e.op("ds.mul", {x, alpha})})}));
    return;
  }
  SmallVector<NamedAttribute> attrs;
  if (op == "FastGelu")
    attrs.push_back(e.ob().getNamedAttr("approximate", e.ob().getStringAttr("tanh")));
  b.setResult(0, e.op("ds.gelu", {x}, attrs));
}

using Lowering = void (*)(const onnx::NodeProto &, ContribBuilder &);

const std::map<std::string, Lowering> &lowerings() {
  static const std::map<std::string, Lowering> table = {
      {"SimplifiedLayerNormalization", lowerSimplifiedLayerNorm},
      {"SkipSimplifiedLayerNormalization",
       [](const onnx::NodeProto &n, ContribBuilder &b) { lowerSkipLayerNorm(n, b, true); }},
      {"SkipLayerNormalization",
       [](const onnx::NodeProto &n, ContribBuilder &b) { lowerSkipLayerNorm(n, b, false); }},
      {"RotaryEmbedding", lowerRotaryEmbedding},
      {"GroupQueryAttention", lowerGroupQueryAttention},
      {"MatMulNBits", lowerMatMulNBits},
      {"GatherBlockQuantized", lowerGatherBlockQuantized},
      {"FastGelu", lowerGelus},
      {"BiasGelu", lowerGelus},
      {"QuickGelu", lowerGelus},
  };
  return table;
}

} // namespace

bool isSupportedContribOp(const std::string &opType) { return lowerings().count(opType) != 0; }

bool isContribNode(const onnx::NodeProto &node) {
  if (node.domain() == kMicrosoftDomain)
    return true;
  bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
  return defaultDomain && node.op_type() == "SimplifiedLayerNormalization";
}

void lowerContribOp(const onnx::NodeProto &node, ContribBuilder &b) {
  lowerings().at(node.op_type())(node, b);
}

} // namespace ds::importer
