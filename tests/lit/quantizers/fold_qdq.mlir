// RUN: ds-opt --split-input-file --ds-fold-qdq %s | FileCheck %s

// A QDQ pair in front of a MatMul: the MatMul keeps the model's scale and zero
// point, the pair goes.
// CHECK-LABEL: func.func @qdq_matmul
// CHECK-NOT:     ds.quantize_linear
// CHECK-NOT:     ds.dequantize_linear
// CHECK:         ds.matmul %arg0, %{{.+}} {ds.act_qparams = array<f32: 2.500000e-01, 1.280000e+02>}
func.func @qdq_matmul(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %s = ds.constant {value = dense<0.25> : tensor<f32>} : tensor<f32>
  %z = ds.constant {value = dense<128> : tensor<ui8>} : tensor<ui8>
  %q = ds.quantize_linear %x, %s, %z : (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
  %d = ds.dequantize_linear %q, %s, %z : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x4xf32>
  %y = ds.matmul %d, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// int8 activations (zero point 0) map onto the uint8 grid with zero point 128.
// CHECK-LABEL: func.func @int8_activations
// CHECK:         ds.matmul %arg0, %{{.+}} {ds.act_qparams = array<f32: 1.000000e-01, 1.280000e+02>}
func.func @int8_activations(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %s = ds.constant {value = dense<0.1> : tensor<f32>} : tensor<f32>
  %z = ds.constant {value = dense<0> : tensor<i8>} : tensor<i8>
  %q = ds.quantize_linear %x, %s, %z : (tensor<2x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x4xi8>
  %d = ds.dequantize_linear %q, %s, %z : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
  %y = ds.matmul %d, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Q and DQ with different scales are not a simulation pair: left alone.
// CHECK-LABEL: func.func @mismatched_scales
// CHECK:         ds.quantize_linear
// CHECK:         ds.dequantize_linear
func.func @mismatched_scales(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = ds.constant {value = dense<0.25> : tensor<f32>} : tensor<f32>
  %t = ds.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %z = ds.constant {value = dense<0> : tensor<ui8>} : tensor<ui8>
  %q = ds.quantize_linear %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
  %d = ds.dequantize_linear %q, %t, %z : (tensor<4xui8>, tensor<f32>, tensor<ui8>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}
