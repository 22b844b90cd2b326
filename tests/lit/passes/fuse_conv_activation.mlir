// RUN: ds-opt --split-input-file --ds-fuse-conv-activation %s | FileCheck %s

// CHECK-LABEL: func.func @conv_relu
// CHECK:         %[[Y:.+]] = ds.conv %arg0, %arg1, %arg2 {activation = "relu", pads = [1, 1, 1, 1]}
// CHECK-NOT:     ds.relu
// CHECK:         return %[[Y]]
func.func @conv_relu(%x: tensor<2x3x5x5xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x5x5xf32> {
  %c = ds.conv %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<2x3x5x5xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x5xf32>
  %y = ds.relu %c : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>
  return %y : tensor<2x4x5x5xf32>
}

// -----

// The conv's output has a second user: declined (both values are needed).
// CHECK-LABEL: func.func @shared_output
// CHECK:         %[[C:.+]] = ds.conv %arg0, %arg1 :
// CHECK-NOT:     activation
// CHECK:         ds.relu %[[C]]
func.func @shared_output(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x1x1xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %c = ds.conv %x, %w : (tensor<1x1x4x4xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x4x4xf32>
  %y = ds.relu %c : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %y, %c : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// -----

// float64 fuses too.
// CHECK-LABEL: func.func @double
// CHECK:         ds.conv %arg0, %arg1 {activation = "relu"}
// CHECK-NOT:     ds.relu
func.func @double(%x: tensor<1x1x4x4xf64>, %w: tensor<1x1x1x1xf64>) -> tensor<1x1x4x4xf64> {
  %c = ds.conv %x, %w : (tensor<1x1x4x4xf64>, tensor<1x1x1x1xf64>) -> tensor<1x1x4x4xf64>
  %y = ds.relu %c : (tensor<1x1x4x4xf64>) -> tensor<1x1x4x4xf64>
  return %y : tensor<1x1x4x4xf64>
}

// -----

// A Relu of something else than a conv stays.
// CHECK-LABEL: func.func @not_conv
// CHECK:         ds.relu
func.func @not_conv(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = ds.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %y = ds.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// An integer Relu of an integer-typed value is not a conv epilogue.
// CHECK-LABEL: func.func @integer_relu
// CHECK:         ds.relu
func.func @integer_relu(%x: tensor<4xi32>) -> tensor<4xi32> {
  %y = ds.relu %x : (tensor<4xi32>) -> tensor<4xi32>
  return %y : tensor<4xi32>
}
