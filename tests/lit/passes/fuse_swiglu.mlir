// RUN: ds-opt --split-input-file --ds-fuse-swiglu %s | FileCheck %s

// CHECK-LABEL: func.func @swiglu
// CHECK:         %[[Y:.+]] = ds.swiglu %arg0, %arg1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT:     ds.sigmoid
// CHECK-NOT:     ds.mul
// CHECK:         return %[[Y]]
func.func @swiglu(%g: tensor<2x8xf32>, %u: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %s = ds.sigmoid %g : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %silu = ds.mul %g, %s : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ds.mul %silu, %u : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Operands the other way round in both products.
// CHECK-LABEL: func.func @swapped
// CHECK:         ds.swiglu %arg0, %arg1
func.func @swapped(%g: tensor<2x8xf32>, %u: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %s = ds.sigmoid %g : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %silu = ds.mul %s, %g : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ds.mul %u, %silu : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// up broadcasts ([8] against [2, 8]): declined.
// CHECK-LABEL: func.func @broadcast_up
// CHECK-NOT:     ds.swiglu
// CHECK:         ds.sigmoid
func.func @broadcast_up(%g: tensor<2x8xf32>, %u: tensor<8xf32>) -> tensor<2x8xf32> {
  %s = ds.sigmoid %g : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %silu = ds.mul %g, %s : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ds.mul %silu, %u : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// The silu is also returned: it must stay.
// CHECK-LABEL: func.func @silu_used_twice
// CHECK-NOT:     ds.swiglu
func.func @silu_used_twice(%g: tensor<2x8xf32>, %u: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %s = ds.sigmoid %g : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %silu = ds.mul %g, %s : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ds.mul %silu, %u : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y, %silu : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// A decode graph's dynamic batch: gate and up are products of one activation
// with same-shaped weights, so they have one shape at run time: fused.
// CHECK-LABEL: func.func @dynamic_mlp
// CHECK:         %[[G:.+]] = ds.matmul %arg0, %arg1
// CHECK:         %[[U:.+]] = ds.matmul %arg0, %arg2
// CHECK:         ds.swiglu %[[G]], %[[U]] : (tensor<?x1x8xf32>, tensor<?x1x8xf32>) -> tensor<?x1x8xf32>
// CHECK-NOT:     ds.sigmoid
func.func @dynamic_mlp(%h: tensor<?x1x4xf32>, %w1: tensor<4x8xf32>, %w3: tensor<4x8xf32>) -> tensor<?x1x8xf32> {
  %g = ds.matmul %h, %w1 : (tensor<?x1x4xf32>, tensor<4x8xf32>) -> tensor<?x1x8xf32>
  %u = ds.matmul %h, %w3 : (tensor<?x1x4xf32>, tensor<4x8xf32>) -> tensor<?x1x8xf32>
  %s = ds.sigmoid %g : (tensor<?x1x8xf32>) -> tensor<?x1x8xf32>
  %silu = ds.mul %g, %s : (tensor<?x1x8xf32>, tensor<?x1x8xf32>) -> tensor<?x1x8xf32>
  %y = ds.mul %silu, %u : (tensor<?x1x8xf32>, tensor<?x1x8xf32>) -> tensor<?x1x8xf32>
  return %y : tensor<?x1x8xf32>
}

// -----

// Dynamic dims without that proof (two arguments of type ?x8 may be 1x8 and 3x8 and
// broadcast): declined.
// CHECK-LABEL: func.func @dynamic_unproven
// CHECK-NOT:     ds.swiglu
// CHECK:         ds.sigmoid
func.func @dynamic_unproven(%g: tensor<?x8xf32>, %u: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %s = ds.sigmoid %g : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %silu = ds.mul %g, %s : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %y = ds.mul %silu, %u : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
