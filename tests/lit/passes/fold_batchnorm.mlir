// RUN: ds-opt --split-input-file --ds-fold-batchnorm %s | FileCheck %s

// W = 2 (one channel, 1x1 kernel), B = 1; BN: scale 3, bias 0.5, mean 1, var 3,
// eps 1: s = 3 / sqrt(4) = 1.5, W' = 3, B' = (1 - 1) * 1.5 + 0.5 = 0.5.
// CHECK-LABEL: func.func @conv_bn
// CHECK-DAG:     %[[W:.+]] = ds.constant {value = dense_resource<conv.bn_folded_weight> : tensor<1x1x1x1xf32>}
// CHECK-DAG:     %[[B:.+]] = ds.constant {value = dense_resource<conv.bn_folded_bias> : tensor<1xf32>}
// CHECK:         %[[Y:.+]] = ds.conv %arg0, %[[W]], %[[B]] {kernel_shape = array<i64: 1, 1>}
// CHECK-NOT:     ds.batch_normalization
// CHECK:         return %[[Y]]
// CHECK:         conv.bn_folded_weight: "0x4000000000004040"
// CHECK:         conv.bn_folded_bias: "0x400000000000003F"
func.func @conv_bn(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = ds.constant {value = dense<2.0> : tensor<1x1x1x1xf32>} : tensor<1x1x1x1xf32>
  %b = ds.constant {value = dense<1.0> : tensor<1xf32>} : tensor<1xf32>
  %scale = ds.constant {value = dense<3.0> : tensor<1xf32>} : tensor<1xf32>
  %bias = ds.constant {value = dense<0.5> : tensor<1xf32>} : tensor<1xf32>
  %mean = ds.constant {value = dense<1.0> : tensor<1xf32>} : tensor<1xf32>
  %var = ds.constant {value = dense<3.0> : tensor<1xf32>} : tensor<1xf32>
  %c = ds.conv %x, %w, %b {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  %y = ds.batch_normalization %c, %scale, %bias, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x1x2x2xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// The conv result is also returned: folding would change that value.
// CHECK-LABEL: func.func @conv_has_other_user
// CHECK:         ds.batch_normalization
func.func @conv_has_other_user(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = ds.constant {value = dense<2.0> : tensor<1x1x1x1xf32>} : tensor<1x1x1x1xf32>
  %s = ds.constant {value = dense<1.0> : tensor<1xf32>} : tensor<1xf32>
  %c = ds.conv %x, %w {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = ds.batch_normalization %c, %s, %s, %s, %s : (tensor<1x1x2x2xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  return %c, %y : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}

// -----

// Statistics that are graph inputs, not constants: nothing to fold.
// CHECK-LABEL: func.func @stats_not_constant
// CHECK:         ds.batch_normalization
func.func @stats_not_constant(%x: tensor<1x1x2x2xf32>, %s: tensor<1xf32>) -> tensor<1x1x2x2xf32> {
  %w = ds.constant {value = dense<2.0> : tensor<1x1x1x1xf32>} : tensor<1x1x1x1xf32>
  %c = ds.conv %x, %w {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = ds.batch_normalization %c, %s, %s, %s, %s : (tensor<1x1x2x2xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}
