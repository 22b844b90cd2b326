// RUN: ds-opt --split-input-file --verify-diagnostics --ds-lower-quant-types %s | FileCheck %s

// A static per-channel quant_matmul: the weight scales become a float constant
// beside the int8 one (0.5 and 0.25 after the 64-byte alignment word), the
// activation's type becomes x_scale / x_zero_point, and both casts go.
// CHECK-LABEL: func.func @static_per_channel
// CHECK:         %[[W8:.+]] = ds.constant {value = dense<{{.+}}> : tensor<2x2xi8>}
// CHECK:         %[[S:.+]] = ds.constant {value = dense_resource<fc.weight_scale> : tensor<2xf32>}
// CHECK-NOT:     quant.
// CHECK:         ds.quant_matmul %arg0, %[[W8]], %[[S]], %{{.+}} {activation = "none", x_scale = 1.250000e-01 : f32, x_zero_point = 64 : i64} : (tensor<3x2xf32>, tensor<2x2xi8>, tensor<2xf32>, none) -> tensor<3x2xf32>
// CHECK:         fc.weight_scale: "0x400000000000003F0000803E"
func.func @static_per_channel(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w8 = ds.constant {value = dense<[[127, -127], [64, 64]]> : tensor<2x2xi8>} : tensor<2x2xi8>
  %w = quant.scast %w8 : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>
  %xq = quant.qcast %x : tensor<3x2xf32> to tensor<3x2x!quant.uniform<u8:f32, 0.125:64>>
  %none = ds.none
  %y = ds.quant_matmul %xq, %w, %none {activation = "none"} : (tensor<3x2x!quant.uniform<u8:f32, 0.125:64>>, tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>, none) -> tensor<3x2xf32> loc("fc")
  return %y : tensor<3x2xf32>
}

// -----

// A dynamic conv (float x: no x_scale) with one scale for the whole tensor: [1].
// CHECK-LABEL: func.func @dynamic_per_tensor_conv
// CHECK:         ds.quant_conv %arg0, %{{.+}}, %{{.+}} {kernel_shape = array<i64: 3, 3>} : (tensor<1x1x3x3xf32>, tensor<2x1x3x3xi8>, tensor<1xf32>) -> tensor<1x2x1x1xf32>
// CHECK:         conv.weight_scale: "0x400000000000003F"
func.func @dynamic_per_tensor_conv(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x1x1xf32> {
  %w8 = ds.constant {value = dense<1> : tensor<2x1x3x3xi8>} : tensor<2x1x3x3xi8>
  %w = quant.scast %w8 : tensor<2x1x3x3xi8> to tensor<2x1x3x3x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %y = ds.quant_conv %x, %w {kernel_shape = array<i64: 3, 3>} : (tensor<1x1x3x3xf32>, tensor<2x1x3x3x!quant.uniform<i8<-127:127>:f32, 0.5>>) -> tensor<1x2x1x1xf32> loc("conv")
  return %y : tensor<1x2x1x1xf32>
}

// -----

// Already in storage form: left as it is.
// CHECK-LABEL: func.func @storage_form
// CHECK:         ds.quant_matmul %arg0, %arg1, %arg2 {x_scale = 1.000000e-01 : f32} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
func.func @storage_form(%x: tensor<2x4xf32>, %w: tensor<4x3xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = ds.quant_matmul %x, %w, %s {x_scale = 0.1 : f32} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Declines: quantized weights that are not a cast of int8 storage have no bytes to read.
func.func @weights_without_storage(%x: tensor<2x2xf32>, %w: tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>) -> tensor<2x2xf32> {
  // expected-error @+1 {{ds-lower-quant-types: quantized weights must be a quant.scast of their int8 storage}}
  %y = ds.quant_matmul %x, %w : (tensor<2x2xf32>, tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Declines: the kernels quantize x themselves, so they need the float tensor behind the qcast.
func.func @activation_without_qcast(%x: tensor<2x2x!quant.uniform<u8:f32, 0.125:64>>) -> tensor<2x2xf32> {
  %w8 = ds.constant {value = dense<1> : tensor<2x2xi8>} : tensor<2x2xi8>
  %w = quant.scast %w8 : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>
  // expected-error @+1 {{ds-lower-quant-types: a quantized activation must be a quant.qcast of a float tensor}}
  %y = ds.quant_matmul %x, %w : (tensor<2x2x!quant.uniform<u8:f32, 0.125:64>>, tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
