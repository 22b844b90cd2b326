// RUN: ds-opt --split-input-file --ds-fuse-norms %s | FileCheck %s

// CHECK-LABEL: func.func @rms_chain
// CHECK:         %[[Y:.+]] = ds.rms_norm %arg0, %{{.+}} {epsilon = 9.99999974E-6 : f32} : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
// CHECK-NOT:     ds.reduce_mean
// CHECK-NOT:     ds.sqrt
// CHECK:         return %[[Y]]
func.func @rms_chain(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %two = ds.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = ds.constant {value = dense<1.0e-5> : tensor<f32>} : tensor<f32>
  %g = ds.constant {value = dense<1.5> : tensor<8xf32>} : tensor<8xf32>
  %sq = ds.pow %x, %two : (tensor<1x4x8xf32>, tensor<f32>) -> tensor<1x4x8xf32>
  %m = ds.reduce_mean %sq {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<1x4x8xf32>) -> tensor<1x4x1xf32>
  %a = ds.add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = ds.sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = ds.div %x, %s : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %y = ds.mul %n, %g : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// x*x, axes as an operand (opset 18), 1/sqrt via Reciprocal, no scale.
// CHECK-LABEL: func.func @mul_reciprocal_no_scale
// CHECK:         ds.rms_norm %arg0 {epsilon = 9.99999997E-7 : f32} : (tensor<4x8xf32>) -> tensor<4x8xf32>
func.func @mul_reciprocal_no_scale(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %eps = ds.constant {value = dense<1.0e-6> : tensor<f32>} : tensor<f32>
  %axes = ds.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  %sq = ds.mul %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = ds.reduce_mean %sq, %axes : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  %a = ds.add %eps, %m : (tensor<f32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %s = ds.sqrt %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = ds.reciprocal %s : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %y = ds.mul %x, %r : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// torch.onnx (Optimum) writes the inverse as Div(1, sqrt(.)) and multiplies
// x by it, then by the weight.
// CHECK-LABEL: func.func @mul_div_one_scale
// CHECK:         ds.rms_norm %arg0, %{{.+}} {epsilon = 9.99999974E-6 : f32} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK-NOT:     ds.div
func.func @mul_div_one_scale(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = ds.constant {value = dense<1.5> : tensor<8xf32>} : tensor<8xf32>
  %two = ds.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %one = ds.constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
  %eps = ds.constant {value = dense<1.0e-5> : tensor<f32>} : tensor<f32>
  %axes = ds.constant {value = dense<[-1]> : tensor<1xi64>} : tensor<1xi64>
  %sq = ds.pow %x, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %m = ds.reduce_mean %sq, %axes {keepdims = 1 : i64} : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  %a = ds.add %m, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ds.sqrt %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = ds.div %one, %s : (tensor<f32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ds.mul %x, %r : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %y = ds.mul %w, %n : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// The mean is over the first axis, not the last: not an RMSNorm.
// CHECK-LABEL: func.func @wrong_axis
// CHECK:         ds.reduce_mean
// CHECK-NOT:     ds.rms_norm
func.func @wrong_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %two = ds.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = ds.constant {value = dense<1.0e-5> : tensor<f32>} : tensor<f32>
  %sq = ds.pow %x, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %m = ds.reduce_mean %sq {axes = array<i64: 0>, keepdims = 1 : i64} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %a = ds.add %m, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %s = ds.sqrt %a : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = ds.div %x, %s : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// The mean of squares is also returned: fusing would lose it.
// CHECK-LABEL: func.func @intermediate_has_other_user
// CHECK:         ds.reduce_mean
// CHECK-NOT:     ds.rms_norm
func.func @intermediate_has_other_user(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %two = ds.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = ds.constant {value = dense<1.0e-5> : tensor<f32>} : tensor<f32>
  %sq = ds.pow %x, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %m = ds.reduce_mean %sq {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %a = ds.add %m, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ds.sqrt %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %y = ds.div %x, %s : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %y, %m : tensor<4x8xf32>, tensor<4x1xf32>
}
