//===- DsOps.td - ds dialect operations -----------------------------------===//
//
// One def per ONNX operator the importer accepts. Arity ranges follow ONNX
// opsets 11-21 (the widest form across those opsets).
//
//===----------------------------------------------------------------------===//
#ifndef DS_OPS_TD
#define DS_OPS_TD

include "dialects/ds/DsBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Values that are not ONNX nodes
//===----------------------------------------------------------------------===//

def Ds_ConstantOp : Ds_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a constant tensor: an ONNX initializer or Constant node";
  let description = [{
    Weights arrive as `dense_resource` blobs that reference the model's own
    memory (the parsed protobuf or an mmap of the external-data file), so the
    importer never copies them into attribute storage.

    ```mlir
    %w = ds.constant {value = dense_resource<w0> : tensor<64x64xf32>} : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict `:` type($output)";
  let hasVerifier = 1; // the value's type must be the result type
  let hasFolder = 1;
}

def Ds_NoneOp : Ds_Op<"none", [Pure, ConstantLike]> {
  let summary = "placeholder for an absent optional ONNX input";
  let description = [{
    ```mlir
    %none = ds.none
    %y = ds.clip %x, %none, %max : (tensor<4xf32>, none, tensor<f32>) -> tensor<4xf32>
    ```
  }];
  let results = (outs NoneType:$output);
  let assemblyFormat = "attr-dict";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

def Ds_AbsOp : Ds_UnaryOp<"abs", "absolute value">;
def Ds_NegOp : Ds_UnaryOp<"neg", "negation">;
def Ds_ExpOp : Ds_UnaryOp<"exp", "e^x">;
def Ds_LogOp : Ds_UnaryOp<"log", "natural logarithm">;
def Ds_SqrtOp : Ds_UnaryOp<"sqrt", "square root">;
def Ds_ReciprocalOp : Ds_UnaryOp<"reciprocal", "1/x">;
def Ds_ReluOp : Ds_UnaryOp<"relu", "max(x, 0)">;
def Ds_SigmoidOp : Ds_UnaryOp<"sigmoid", "1/(1+e^-x)">;
def Ds_TanhOp : Ds_UnaryOp<"tanh", "hyperbolic tangent">;
def Ds_ErfOp : Ds_UnaryOp<"erf", "Gauss error function">;
def Ds_SinOp : Ds_UnaryOp<"sin", "sine">;
def Ds_CosOp : Ds_UnaryOp<"cos", "cosine">;
def Ds_TanOp : Ds_UnaryOp<"tan", "tangent">;
def Ds_AsinOp : Ds_UnaryOp<"asin", "arcsine">;
def Ds_AcosOp : Ds_UnaryOp<"acos", "arccosine">;
def Ds_AtanOp : Ds_UnaryOp<"atan", "arctangent">;
def Ds_SinhOp : Ds_UnaryOp<"sinh", "hyperbolic sine">;
def Ds_CoshOp : Ds_UnaryOp<"cosh", "hyperbolic cosine">;
def Ds_AsinhOp : Ds_UnaryOp<"asinh", "inverse hyperbolic sine">;
def Ds_AcoshOp : Ds_UnaryOp<"acosh", "inverse hyperbolic cosine">;
def Ds_AtanhOp : Ds_UnaryOp<"atanh", "inverse hyperbolic tangent">;
def Ds_FloorOp : Ds_UnaryOp<"floor", "round down">;
def Ds_CeilOp : Ds_UnaryOp<"ceil", "round up">;
def Ds_RoundOp : Ds_UnaryOp<"round", "round half to even">;
def Ds_SignOp : Ds_UnaryOp<"sign", "-1, 0 or 1">;
def Ds_SoftplusOp : Ds_UnaryOp<"softplus", "log(1+e^x)">;
def Ds_SoftsignOp : Ds_UnaryOp<"softsign", "x/(1+|x|)">;
def Ds_EluOp : Ds_UnaryOp<"elu", "exponential linear unit (alpha)">;
def Ds_SeluOp : Ds_UnaryOp<"selu", "scaled ELU (alpha, gamma)">;
def Ds_CeluOp : Ds_UnaryOp<"celu", "continuously differentiable ELU (alpha)">;
def Ds_LeakyReluOp : Ds_UnaryOp<"leaky_relu", "x or alpha*x (alpha)">;
def Ds_ThresholdedReluOp : Ds_UnaryOp<"thresholded_relu", "x if x > alpha else 0">;
def Ds_HardSigmoidOp : Ds_UnaryOp<"hard_sigmoid", "max(0, min(1, alpha*x+beta))">;
def Ds_HardSwishOp : Ds_UnaryOp<"hard_swish", "x * hard_sigmoid(x, 1/6, 0.5)">;
def Ds_GeluOp : Ds_UnaryOp<"gelu", "Gaussian error linear unit (approximate none|tanh)">;
def Ds_MishOp : Ds_UnaryOp<"mish", "x * tanh(softplus(x))">;
def Ds_ShrinkOp : Ds_UnaryOp<"shrink", "soft/hard shrink (lambd, bias)">;
def Ds_NotOp : Ds_UnaryOp<"not", "logical not">;
def Ds_BitwiseNotOp : Ds_UnaryOp<"bitwise_not", "bitwise complement">;
def Ds_IsNaNOp : Ds_UnaryOp<"is_nan", "x is NaN">;
def Ds_IsInfOp : Ds_UnaryOp<"is_inf", "x is +-Inf (detect_positive, detect_negative)">;
def Ds_IdentityOp : Ds_UnaryOp<"identity", "y = x"> {
  let hasFolder = 1; // to its operand when the types agree
}

def Ds_DropoutOp : Ds_OnnxOp<"dropout", 1, 3, 1, 2> {
  let summary = "dropout (inference: identity, optional all-true mask)";
}
def Ds_CastOp : Ds_OnnxOp<"cast", 1, 1> {
  let summary = "element type conversion to ONNX type `to`";
  // A Cast to the type its operand has (torch exports' float32 -> float32
  // around RMSNorm) folds to the operand.
  let hasFolder = 1;
}
def Ds_CastLikeOp : Ds_OnnxOp<"cast_like", 2, 2> {
  let summary = "element type conversion to the second operand's type";
}
def Ds_ClipOp : Ds_OnnxOp<"clip", 1, 3> {
  let summary = "clamp to optional [min, max] operands";
}

//===----------------------------------------------------------------------===//
// Elementwise binary / variadic / select
//===----------------------------------------------------------------------===//

def Ds_AddOp : Ds_BinaryOp<"add", "a + b">;
def Ds_SubOp : Ds_BinaryOp<"sub", "a - b">;
def Ds_MulOp : Ds_BinaryOp<"mul", "a * b">;
def Ds_DivOp : Ds_BinaryOp<"div", "a / b">;
def Ds_PowOp : Ds_BinaryOp<"pow", "a ^ b">;
def Ds_ModOp : Ds_BinaryOp<"mod", "remainder (fmod selects C or Python semantics)">;
def Ds_EqualOp : Ds_BinaryOp<"equal", "a == b">;
def Ds_LessOp : Ds_BinaryOp<"less", "a < b">;
def Ds_LessOrEqualOp : Ds_BinaryOp<"less_or_equal", "a <= b">;
def Ds_GreaterOp : Ds_BinaryOp<"greater", "a > b">;
def Ds_GreaterOrEqualOp : Ds_BinaryOp<"greater_or_equal", "a >= b">;
def Ds_AndOp : Ds_BinaryOp<"and", "logical and">;
def Ds_OrOp : Ds_BinaryOp<"or", "logical or">;
def Ds_XorOp : Ds_BinaryOp<"xor", "logical xor">;
def Ds_PReluOp : Ds_BinaryOp<"prelu", "x or slope*x">;
def Ds_BitShiftOp : Ds_BinaryOp<"bit_shift", "shift left or right (direction)">;
def Ds_BitwiseAndOp : Ds_BinaryOp<"bitwise_and", "a & b">;
def Ds_BitwiseOrOp : Ds_BinaryOp<"bitwise_or", "a | b">;
def Ds_BitwiseXorOp : Ds_BinaryOp<"bitwise_xor", "a ^ b">;
def Ds_MaxOp : Ds_VariadicOp<"max", "elementwise maximum">;
def Ds_MinOp : Ds_VariadicOp<"min", "elementwise minimum">;
def Ds_SumOp : Ds_VariadicOp<"sum", "elementwise sum">;
def Ds_MeanOp : Ds_VariadicOp<"mean", "elementwise mean">;
def Ds_WhereOp : Ds_OnnxOp<"where", 3, 3> {
  let summary = "select(cond, a, b) with broadcasting";
}

//===----------------------------------------------------------------------===//
// Reductions, softmax, linear algebra, normalization
//===----------------------------------------------------------------------===//

def Ds_ReduceMeanOp : Ds_ReduceOp<"reduce_mean", "mean over axes">;
def Ds_ReduceSumOp : Ds_ReduceOp<"reduce_sum", "sum over axes">;
def Ds_ReduceMaxOp : Ds_ReduceOp<"reduce_max", "maximum over axes">;
def Ds_ReduceMinOp : Ds_ReduceOp<"reduce_min", "minimum over axes">;
def Ds_ReduceProdOp : Ds_ReduceOp<"reduce_prod", "product over axes">;
def Ds_ReduceL1Op : Ds_ReduceOp<"reduce_l1", "sum of |x| over axes">;
def Ds_ReduceL2Op : Ds_ReduceOp<"reduce_l2", "sqrt of sum of x^2 over axes">;
def Ds_ReduceSumSquareOp : Ds_ReduceOp<"reduce_sum_square", "sum of x^2 over axes">;
def Ds_ReduceLogSumOp : Ds_ReduceOp<"reduce_log_sum", "log of sum over axes">;
def Ds_ReduceLogSumExpOp : Ds_ReduceOp<"reduce_log_sum_exp", "log of sum of e^x over axes">;
def Ds_ArgMaxOp : Ds_OnnxOp<"arg_max", 1, 1> { let summary = "index of the maximum along axis"; }
def Ds_ArgMinOp : Ds_OnnxOp<"arg_min", 1, 1> { let summary = "index of the minimum along axis"; }
def Ds_SoftmaxOp : Ds_OnnxOp<"softmax", 1, 1> { let summary = "softmax along axis"; }
def Ds_LogSoftmaxOp : Ds_OnnxOp<"log_softmax", 1, 1> { let summary = "log of softmax along axis"; }
def Ds_HardmaxOp : Ds_OnnxOp<"hardmax", 1, 1> { let summary = "one-hot of the argmax along axis"; }
def Ds_MatMulOp : Ds_OnnxOp<"matmul", 2, 2> { let summary = "numpy batched matrix product"; }
def Ds_GemmOp : Ds_OnnxOp<"gemm", 2, 3> { let summary = "alpha*op(A)*op(B) + beta*C"; }
def Ds_MatMulIntegerOp : Ds_OnnxOp<"matmul_integer", 2, 4> {
  let summary = "8-bit integer matrix product with zero points, int32 result";
}
def Ds_LayerNormalizationOp : Ds_OnnxOp<"layer_normalization", 2, 3, 1, 3> {
  let summary = "layer normalization over the axes from `axis` on";
}
def Ds_BatchNormalizationOp : Ds_OnnxOp<"batch_normalization", 5, 5, 1, 3> {
  let summary = "batch normalization with running statistics (inference)";
}
def Ds_InstanceNormalizationOp : Ds_OnnxOp<"instance_normalization", 3, 3> {
  let summary = "per-instance, per-channel normalization";
}
def Ds_GroupNormalizationOp : Ds_OnnxOp<"group_normalization", 3, 3> {
  let summary = "normalization over channel groups";
}
def Ds_LpNormalizationOp : Ds_OnnxOp<"lp_normalization", 1, 1> {
  let summary = "divide by the Lp norm along axis";
}
def Ds_MeanVarianceNormalizationOp : Ds_OnnxOp<"mean_variance_normalization", 1, 1> {
  let summary = "(x - mean) / std over axes";
}
def Ds_TopKOp : Ds_OnnxOp<"top_k", 2, 2, 2, 2> { let summary = "k largest/smallest values and indices"; }
def Ds_CumSumOp : Ds_OnnxOp<"cum_sum", 2, 2> { let summary = "cumulative sum along an axis"; }

//===----------------------------------------------------------------------===//
// Convolution, pooling, resampling
//===----------------------------------------------------------------------===//

def Ds_ConvOp : Ds_OnnxOp<"conv", 2, 3> { let summary = "N-d convolution"; }
def Ds_ConvTransposeOp : Ds_OnnxOp<"conv_transpose", 2, 3> { let summary = "N-d transposed convolution"; }
def Ds_ConvIntegerOp : Ds_OnnxOp<"conv_integer", 2, 4> { let summary = "8-bit integer convolution"; }
def Ds_MaxPoolOp : Ds_OnnxOp<"max_pool", 1, 1, 1, 2> { let summary = "max pooling (optional indices)"; }
def Ds_AveragePoolOp : Ds_OnnxOp<"average_pool", 1, 1> { let summary = "average pooling"; }
def Ds_GlobalAveragePoolOp : Ds_OnnxOp<"global_average_pool", 1, 1> { let summary = "mean over spatial dims"; }
def Ds_GlobalMaxPoolOp : Ds_OnnxOp<"global_max_pool", 1, 1> { let summary = "max over spatial dims"; }
def Ds_LpPoolOp : Ds_OnnxOp<"lp_pool", 1, 1> { let summary = "Lp-norm pooling"; }
def Ds_ResizeOp : Ds_OnnxOp<"resize", 1, 4> { let summary = "nearest/linear/cubic resampling"; }
def Ds_PadOp : Ds_OnnxOp<"pad", 1, 4> { let summary = "constant/reflect/edge/wrap padding"; }
def Ds_LrnOp : Ds_OnnxOp<"lrn", 1, 1> { let summary = "local response normalization"; }
def Ds_DepthToSpaceOp : Ds_OnnxOp<"depth_to_space", 1, 1> { let summary = "rearrange channels into blocks"; }
def Ds_SpaceToDepthOp : Ds_OnnxOp<"space_to_depth", 1, 1> { let summary = "rearrange blocks into channels"; }

//===----------------------------------------------------------------------===//
// Shapes, indexing, data movement
//===----------------------------------------------------------------------===//

def Ds_ShapeOp : Ds_OnnxOp<"shape", 1, 1> { let summary = "the operand's shape as int64"; }
def Ds_SizeOp : Ds_OnnxOp<"size", 1, 1> { let summary = "the operand's element count"; }
def Ds_ReshapeOp : Ds_OnnxOp<"reshape", 2, 2> { let summary = "same elements, new shape"; }
def Ds_TransposeOp : Ds_OnnxOp<"transpose", 1, 1> { let summary = "permute dimensions"; }
def Ds_SqueezeOp : Ds_OnnxOp<"squeeze", 1, 2> { let summary = "drop size-1 dimensions"; }
def Ds_UnsqueezeOp : Ds_OnnxOp<"unsqueeze", 1, 2> { let summary = "insert size-1 dimensions"; }
def Ds_FlattenOp : Ds_OnnxOp<"flatten", 1, 1> { let summary = "reshape to 2-D at axis"; }
def Ds_ConcatOp : Ds_OnnxOp<"concat", 1, 2147483647> { let summary = "join along axis"; }
def Ds_SplitOp : Ds_OnnxOp<"split", 1, 2, 1, 2147483647> { let summary = "split along axis"; }
def Ds_SliceOp : Ds_OnnxOp<"slice", 1, 5> { let summary = "strided slice (starts, ends, axes, steps)"; }
def Ds_GatherOp : Ds_OnnxOp<"gather", 2, 2> { let summary = "take slices along axis by index"; }
def Ds_GatherElementsOp : Ds_OnnxOp<"gather_elements", 2, 2> { let summary = "take elements by index along axis"; }
def Ds_GatherNDOp : Ds_OnnxOp<"gather_nd", 2, 2> { let summary = "take slices by index tuples"; }
def Ds_ScatterNDOp : Ds_OnnxOp<"scatter_nd", 3, 3> { let summary = "write slices at index tuples"; }
def Ds_ScatterElementsOp : Ds_OnnxOp<"scatter_elements", 3, 3> { let summary = "write elements by index along axis"; }
def Ds_ExpandOp : Ds_OnnxOp<"expand", 2, 2> { let summary = "broadcast to a shape"; }
def Ds_TileOp : Ds_OnnxOp<"tile", 2, 2> { let summary = "repeat along each dimension"; }
def Ds_ConstantOfShapeOp : Ds_OnnxOp<"constant_of_shape", 1, 1> { let summary = "a filled tensor of a runtime shape"; }
def Ds_RangeOp : Ds_OnnxOp<"range", 3, 3> { let summary = "start, start+delta, ... below limit"; }
def Ds_TriluOp : Ds_OnnxOp<"trilu", 1, 2> { let summary = "upper/lower triangle of the last two dims"; }
def Ds_NonZeroOp : Ds_OnnxOp<"non_zero", 1, 1> { let summary = "indices of non-zero elements"; }
def Ds_OneHotOp : Ds_OnnxOp<"one_hot", 3, 3> { let summary = "one-hot encoding"; }
def Ds_EyeLikeOp : Ds_OnnxOp<"eye_like", 1, 1> { let summary = "identity-like matrix"; }
def Ds_CompressOp : Ds_OnnxOp<"compress", 2, 2> { let summary = "select slices by a boolean mask"; }
def Ds_ReverseSequenceOp : Ds_OnnxOp<"reverse_sequence", 2, 2> { let summary = "reverse variable-length prefixes"; }

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def Ds_QuantizeLinearOp : Ds_OnnxOp<"quantize_linear", 2, 3> {
  let summary = "saturate(round(x / scale) + zero_point)";
}
def Ds_DequantizeLinearOp : Ds_OnnxOp<"dequantize_linear", 2, 3> {
  let summary = "(x - zero_point) * scale";
}
def Ds_DynamicQuantizeLinearOp : Ds_OnnxOp<"dynamic_quantize_linear", 1, 1, 3, 3> {
  let summary = "uint8 quantization with a scale computed from the data";
}

//===----------------------------------------------------------------------===//
// Block-quantized weights as exporters store them (com.microsoft ops, imported
// as they are so that an INT4 model stays INT4)
//===----------------------------------------------------------------------===//

def Ds_MatMulNBitsOp : Ds_OnnxOp<"matmul_nbits", 3, 5, 1, 1, [Ds_CompilerOnly]> {
  let summary = "A @ W with W block-quantized to 4 or 8 bits (ORT's MatMulNBits layout)";
  let description = [{
    Operands: A float `[..., K]`, the packed codes uint8 `[N, blocks, block * bits / 8]`,
    scales float `[N * blocks]`, zero points (`none`, packed uint8 or float) and bias
    (`none` or float `[N]`); attributes `K`, `N`, `bits`, `block_size`. Weight `(k, n)` is
    `(q - zp) * scale` of block `k / block_size` of row `n` (zp 2^(bits-1) when absent).
    The importer makes it from MatMulNBits; the kernel reads the codes as stored.

    ```mlir
    %y = ds.matmul_nbits %a, %q, %s, %none, %none {K = 64 : i64, N = 32 : i64, bits = 4 : i64, block_size = 32 : i64}
         : (tensor<1x?x64xf32>, tensor<32x2x16xui8>, tensor<64xf32>, none, none) -> tensor<1x?x32xf32>
    ```
  }];
}

def Ds_GatherBlockQuantizedOp : Ds_OnnxOp<"gather_block_quantized", 3, 4, 1, 1, [Ds_CompilerOnly]> {
  let summary = "rows of a block-quantized table (ORT's GatherBlockQuantized, gather axis 0)";
  let description = [{
    Operands: the packed table uint8 `[rows, ...]` (each row `columns * bits / 8` bytes),
    indices, scales float `[rows * blocks]` and optional zero points; attributes `bits`,
    `block_size`, `columns`. Result: float `indices.shape + [columns]`, each row
    dequantized as in ds.matmul_nbits.
  }];
}

//===----------------------------------------------------------------------===//
// Fused ops created by the fuse passes (not ONNX operators)
//===----------------------------------------------------------------------===//

def Ds_RmsNormOp : Ds_OnnxOp<"rms_norm", 1, 2, 1, 1, [Ds_CompilerOnly]> {
  let summary = "root-mean-square normalization over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2, -1) + epsilon) * scale` (scale optional, `[D]`).
    Produced by `ds-fuse-norms` from the Pow/ReduceMean/Add/Sqrt/Div/Mul chain
    that exporters emit for Llama-style RMSNorm.

    ```mlir
    %y = ds.rms_norm %x, %scale {epsilon = 1.0e-5 : f32} : (tensor<1x128x128xf32>, tensor<128xf32>) -> tensor<1x128x128xf32>
    ```
  }];
}

def Ds_AttentionOp : Ds_OnnxOp<"attention", 4, 4, 1, 1, [Ds_CompilerOnly]> {
  let summary = "scaled dot-product attention with a boolean mask";
  let description = [{
    `y = softmax(where(mask, (q @ kT) / scale_divisor, masked_value), -1) @ v`
    with q `[..., Lq, D]`, kT `[..., D, Lk]`, v `[..., Lk, Dv]`, mask bool
    broadcastable to `[..., Lq, Lk]`. Produced by `ds-fuse-attention` from the
    MatMul/Div/Where/Softmax/MatMul chain that exporters emit; the kernel never
    writes the `[Lq, Lk]` scores and skips keys that a very negative
    masked_value leaves without weight (causal masks).

    ```mlir
    %y = ds.attention %q, %kT, %v, %mask {masked_value = -3.40282347E+38 : f32, scale_divisor = 4.000000e+00 : f32} : (tensor<1x8x128x16xf32>, tensor<1x8x16x128xf32>, tensor<1x8x128x16xf32>, tensor<128x128xi1>) -> tensor<1x8x128x16xf32>
    ```
  }];
}

def Ds_RotaryOp : Ds_OnnxOp<"rotary", 3, 3, 1, 1, [Ds_CompilerOnly]> {
  let summary = "rotary position embedding (rotate-half form)";
  let description = [{
    `y = x * cos + concat(-x[..., D/2:], x[..., :D/2]) * sin` with cos and sin
    `[..., D]` broadcastable to x. Produced by `ds-fuse-rotary` from the
    Slice/Neg/Slice/Concat/Mul/Mul/Add chain that Llama-style exporters emit;
    the same float operations, so the same bits.

    ```mlir
    %y = ds.rotary %x, %cos, %sin : (tensor<1x8x128x16xf32>, tensor<128x16xf32>, tensor<128x16xf32>) -> tensor<1x8x128x16xf32>
    ```
  }];
}

def Ds_SwiGluOp : Ds_OnnxOp<"swiglu", 2, 2, 1, 1, [Ds_CompilerOnly]> {
  let summary = "SwiGLU gating: (gate * sigmoid(gate)) * up";
  let description = [{
    Produced by `ds-fuse-swiglu` from the Sigmoid/Mul/Mul chain of SwiGLU MLPs;
    the same float operations as the chain, in one pass.

    ```mlir
    %y = ds.swiglu %gate, %up : (tensor<1x128x344xf32>, tensor<1x128x344xf32>) -> tensor<1x128x344xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Integer compute created by ds-quant-int8 (not ONNX operators)
//===----------------------------------------------------------------------===//

/// Shared text of the quantized compute ops. They come in two forms:
///
/// - quantized types (what ds-quant-int8 writes): operands `x, w[, bias]`. `w`
///   is a tensor of `!quant.uniform<i8<-127:127>:f32:AXIS, {scales}>` (per
///   output channel, zero points 0) or of a per-tensor `!quant.uniform<i8...>`,
///   made by `quant.scast` from its int8 storage. `x` is float (quantized per
///   call, dynamically) or a tensor of `!quant.uniform<u8:f32, scale:zp>` made
///   by `quant.qcast` (static): the op quantizes it on the fly, so the cast
///   says how, not where.
/// - storage form (what ds-lower-quant-types writes, and what the kernels read):
///   operands `x, w, w_scale[, bias]` with plain i8 `w`, float `w_scale`, and a
///   static activation's parameters as `x_scale`/`x_zero_point` attributes.
///
/// Both follow ONNX's QDQ semantics, so the reference executor, the artifact and
/// ONNX Runtime's QDQ models agree on what they compute.
class Ds_QuantComputeOp<string mnemonic> : Ds_OnnxOp<mnemonic, 2, 4, 1, 1, [Ds_CompilerOnly]> {
  let hasVerifier = 1;
}

def Ds_QuantMatMulOp : Ds_QuantComputeOp<"quant_matmul"> {
  let summary = "INT8 matrix product of a float activation and int8 weights, float result";
  let description = [{
    `y = act(DQ(Q(x; x_scale, x_zero_point)) @ DQ(w; w_scale) + bias)`: the
    activation is quantized to uint8 (ONNX QuantizeLinear rounding and
    saturation), multiplied with symmetric int8 weights `w : [K, N]` in int32,
    and rescaled to float with `x_scale * w_scale[n]`. `w_scale` is `[N]` (per
    output column, quantized axis 1) or a scalar. A float `x` (storage form:
    no `x_scale`, or 0) is quantized dynamically per call, as ONNX
    DynamicQuantizeLinear does, or per row with `x_granularity = "row"`.
    `activation` is "none" or "relu". Optional bias [N].

    ```mlir
    %wq = quant.scast %w8 : tensor<64x32xi8> to tensor<64x32x!quant.uniform<i8<-127:127>:f32:1, {...}>>
    %xq = quant.qcast %x : tensor<1x8x64xf32> to tensor<1x8x64x!quant.uniform<u8:f32, 2.000000e-02:128>>
    %y = ds.quant_matmul %xq, %wq, %b {activation = "none"}
         : (tensor<1x8x64x!quant.uniform<u8:f32, 2.000000e-02:128>>, tensor<64x32x!quant.uniform<...>>, tensor<32xf32>) -> tensor<1x8x32xf32>
    // after ds-lower-quant-types:
    %y = ds.quant_matmul %x, %w8, %ws, %b {x_scale = 0.02 : f32, x_zero_point = 128 : i64,
           activation = "none"}
         : (tensor<1x8x64xf32>, tensor<64x32xi8>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x8x32xf32>
    ```
  }];
}

def Ds_QuantConvOp : Ds_QuantComputeOp<"quant_conv"> {
  let summary = "INT8 2-D convolution of a float activation and int8 weights, float result";
  let description = [{
    ONNX Conv (same attributes) on `DQ(Q(x; x_scale, x_zero_point))` and
    `DQ(w; w_scale)` with `w : [M, C/group, kh, kw]` symmetric int8 and `w_scale`
    `[M]` (quantized axis 0) or a scalar, int32 accumulation, plus optional bias
    `[M]` and `activation` ("none" or "relu"). Padding contributes a quantized 0.0.
    Operands as ds.quant_matmul's, in either form.

    ```mlir
    %y = ds.quant_conv %x, %w, %ws, %b {x_scale = 0.05 : f32, x_zero_point = 0 : i64,
           kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>}
         : (tensor<?x16x4x4xf32>, tensor<32x16x3x3xi8>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x32x4x4xf32>
    ```
  }];
}

#endif // DS_OPS_TD
