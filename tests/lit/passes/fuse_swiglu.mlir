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
