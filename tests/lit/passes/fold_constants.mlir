// RUN: ds-opt --split-input-file --ds-fold-constants %s | FileCheck %s

// DequantizeLinear of constant int8 weights becomes a float constant, computed by
// the runtime's own kernel: (q - 0) * 0.5 for q = [2, -4] -> [1.0, -2.0].
// CHECK-LABEL: func.func @dequantize_weights
// CHECK:         %[[W:.+]] = ds.constant {value = dense_resource<w.folded> : tensor<2xf32>}
// CHECK-NOT:     ds.dequantize_linear
// CHECK:         ds.mul %arg0, %[[W]]
// CHECK:         w.folded: "0x400000000000803F000000C0"
func.func @dequantize_weights(%x: tensor<2xf32>) -> tensor<2xf32> {
  %q = ds.constant {value = dense<[2, -4]> : tensor<2xi8>} : tensor<2xi8>
  %s = ds.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %w = ds.dequantize_linear %q, %s : (tensor<2xi8>, tensor<f32>) -> tensor<2xf32> loc("w")
  %y = ds.mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// Chains fold in graph order: Shape of a constant, then Gather of that.
// CHECK-LABEL: func.func @shape_chain
// CHECK-NOT:     ds.shape
// CHECK-NOT:     ds.gather
// CHECK:         ds.reshape %arg0
func.func @shape_chain(%x: tensor<6xf32>) -> tensor<2x3xf32> {
  %c = ds.constant {value = dense<0.0> : tensor<2x3xf32>} : tensor<2x3xf32>
  %shape = ds.shape %c : (tensor<2x3xf32>) -> tensor<2xi64>
  %y = ds.reshape %x, %shape : (tensor<6xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// An operand that is a graph input: nothing to fold.
// CHECK-LABEL: func.func @not_constant
// CHECK:         ds.dequantize_linear %arg0
func.func @not_constant(%q: tensor<2xi8>) -> tensor<2xf32> {
  %s = ds.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %w = ds.dequantize_linear %q, %s : (tensor<2xi8>, tensor<f32>) -> tensor<2xf32>
  return %w : tensor<2xf32>
}

// -----

// Shape of a computed value with a static type folds too (shape specialization).
// CHECK-LABEL: func.func @shape_of_static_value
// CHECK-NOT:     ds.shape
// CHECK:         ds.reshape %{{.+}}, %{{.+}}
func.func @shape_of_static_value(%x: tensor<2x3xf32>, %y: tensor<6xf32>) -> tensor<2x3xf32> {
  %r = ds.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %shape = ds.shape %r : (tensor<2x3xf32>) -> tensor<2xi64>
  %z = ds.reshape %y, %shape : (tensor<6xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %z : tensor<2x3xf32>
}

// -----

// A dynamic dim keeps Shape at run time.
// CHECK-LABEL: func.func @shape_of_dynamic_value
// CHECK:         ds.shape
func.func @shape_of_dynamic_value(%x: tensor<?x3xf32>) -> tensor<2xi64> {
  %shape = ds.shape %x : (tensor<?x3xf32>) -> tensor<2xi64>
  return %shape : tensor<2xi64>
}

// -----

// The result would exceed max-bytes (64 floats = 256 bytes > 100): declined.
// RUN: ds-opt --ds-fold-constants="max-bytes=100" %S/Inputs/fold_constants_large.mlir | FileCheck %s --check-prefix=LARGE
// LARGE: ds.expand
