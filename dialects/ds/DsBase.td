//===- DsBase.td - the ds dialect and its op base classes -----------------===//
//
// `ds` is ds-optimize's graph-level dialect: one op per ONNX operator (named by
// the operator in snake_case), plus the fused ops later passes create. Operands
// and attributes keep ONNX's order, names and meaning, so the importer stays a
// mechanical translation and the kernel library can read attributes by their
// ONNX names.
//
//===----------------------------------------------------------------------===//
#ifndef DS_BASE_TD
#define DS_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ds_Dialect : Dialect {
  let name = "ds";
  let cppNamespace = "::ds";
  let summary = "ds-optimize's ONNX-level graph dialect";
  let description = [{
    Ops mirror ONNX operators: `Add` becomes `ds.add`, `ReduceMean` becomes
    `ds.reduce_mean`. ONNX attributes are carried verbatim as op attributes
    (ints as `i64`, floats as `f32`, lists as dense arrays). An absent optional
    ONNX input is the result of `ds.none`. The INT8 compute ops take MLIR
    `quant` types (`!quant.uniform`), so loading ds loads the quant dialect.
  }];
  let dependentDialects = ["::mlir::quant::QuantDialect"];
  let hasConstantMaterializer = 0;
}

/// Tensor or the `none` placeholder for an absent optional ONNX input.
def Ds_TensorOrNone : AnyTypeOf<[AnyTensor, NoneType]>;

/// Verifies operand/result counts of ONNX-derived ops (see DsTraits.h).
class Ds_OnnxArity<string params> : ParamNativeOpTrait<"OnnxArity", params> {
  let cppNamespace = "::ds::OpTrait";
}

/// Ops created by passes, never imported (see DsTraits.h).
def Ds_CompilerOnly : NativeOpTrait<"CompilerOnly"> {
  let cppNamespace = "::ds::OpTrait";
}

class Ds_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ds_Dialect, mnemonic, traits>;

/// An op translated one-to-one from an ONNX operator. `minIn`..`maxIn` operands
/// (absent optional ones as `ds.none`), `minOut`..`maxOut` results; the
/// OnnxArity trait verifies the counts. The ONNX operator's attributes are the
/// op's attributes.
class Ds_OnnxOp<string mnemonic, int minIn, int maxIn, int minOut = 1,
                int maxOut = 1, list<Trait> traits = []>
    : Ds_Op<mnemonic, !listconcat(traits, [
        Pure,
        Ds_OnnxArity<!interleave([minIn, maxIn, minOut, maxOut], ", ")>])> {
  let arguments = (ins Variadic<Ds_TensorOrNone>:$inputs);
  let results = (outs Variadic<AnyTensor>:$outputs);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $outputs)";
  let description = [{
    The ONNX operator of the same name (snake_case). Operands are in ONNX order;
    attributes keep their ONNX names, for example

    ```mlir
    %y = ds.}] # mnemonic # [{ %x ... {axis = 1 : i64} : (tensor<?x8xf32>, ...) -> tensor<?x8xf32>
    ```
  }];
}

/// Elementwise unary: one operand, one result of the same shape.
class Ds_UnaryOp<string mnemonic, string onnxSummary>
    : Ds_OnnxOp<mnemonic, 1, 1, 1, 1, [SameOperandsAndResultShape]> {
  let summary = onnxSummary;
}

/// Elementwise binary with numpy broadcasting.
class Ds_BinaryOp<string mnemonic, string onnxSummary>
    : Ds_OnnxOp<mnemonic, 2, 2> {
  let summary = onnxSummary;
}

/// Variadic elementwise (Max, Min, Sum, Mean): 1..N operands, broadcasting.
class Ds_VariadicOp<string mnemonic, string onnxSummary>
    : Ds_OnnxOp<mnemonic, 1, 2147483647> {
  let summary = onnxSummary;
}

/// Reductions: data plus optional axes operand (opset 13/18 form).
class Ds_ReduceOp<string mnemonic, string onnxSummary>
    : Ds_OnnxOp<mnemonic, 1, 2> {
  let summary = onnxSummary;
}

#endif // DS_BASE_TD
