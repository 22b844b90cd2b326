// RUN: ds-opt --split-input-file --ds-fuse-rotary %s | FileCheck %s

// CHECK-LABEL: func.func @rotate_half
// CHECK:         %[[Y:.+]] = ds.rotary %arg0, %{{.+}}, %{{.+}} : (tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NOT:     ds.slice
// CHECK-NOT:     ds.concat
// CHECK:         return %[[Y]]
func.func @rotate_half(%x: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %cos = ds.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %sin = ds.constant {value = dense<0.25> : tensor<4x8xf32>} : tensor<4x8xf32>
  %h = ds.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %zero = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %big = ds.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %axis = ds.constant {value = dense<3> : tensor<1xi64>} : tensor<1xi64>
  %one = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %xc = ds.mul %x, %cos : (tensor<1x2x4x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4x8xf32>
  %x2 = ds.slice %x, %h, %big, %axis, %one : (tensor<1x2x4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %n = ds.neg %x2 : (tensor<*xf32>) -> tensor<*xf32>
  %x1 = ds.slice %x, %zero, %h, %axis, %one : (tensor<1x2x4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %r = ds.concat %n, %x1 {axis = -1 : i64} : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %rs = ds.mul %r, %sin : (tensor<*xf32>, tensor<4x8xf32>) -> tensor<*xf32>
  %y = ds.add %xc, %rs : (tensor<1x2x4x8xf32>, tensor<*xf32>) -> tensor<1x2x4x8xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

// The halves are swapped the other way (concat(x1, -x2)): not rotate-half.
// CHECK-LABEL: func.func @wrong_order
// CHECK-NOT:     ds.rotary
// CHECK:         ds.concat
func.func @wrong_order(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %cos = ds.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %sin = ds.constant {value = dense<0.25> : tensor<4x8xf32>} : tensor<4x8xf32>
  %h = ds.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %zero = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %big = ds.constant {value = dense<8> : tensor<1xi64>} : tensor<1xi64>
  %axis = ds.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %xc = ds.mul %x, %cos : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %x2 = ds.slice %x, %h, %big, %axis : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x4xf32>
  %n = ds.neg %x2 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %x1 = ds.slice %x, %zero, %h, %axis : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x4xf32>
  %r = ds.concat %x1, %n {axis = -1 : i64} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %rs = ds.mul %r, %sin : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = ds.add %xc, %rs : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Optimum computes cos/sin from position_ids at run time ([b, 1, s, D]
// against q [b, heads, s, D], dynamic b and s): fused, the kernel broadcasts.
// CHECK-LABEL: func.func @computed_tables
// CHECK:         ds.rotary %arg0, %arg1, %arg2 : (tensor<?x8x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>) -> tensor<?x8x?x8xf32>
func.func @computed_tables(%x: tensor<?x8x?x8xf32>, %cos: tensor<?x1x?x8xf32>, %sin: tensor<?x1x?x8xf32>) -> tensor<?x8x?x8xf32> {
  %h = ds.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %zero = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %big = ds.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %axis = ds.constant {value = dense<3> : tensor<1xi64>} : tensor<1xi64>
  %one = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %xc = ds.mul %x, %cos : (tensor<?x8x?x8xf32>, tensor<?x1x?x8xf32>) -> tensor<?x8x?x8xf32>
  %x1 = ds.slice %x, %zero, %h, %axis, %one : (tensor<?x8x?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x8x?x4xf32>
  %x2 = ds.slice %x, %h, %big, %axis, %one : (tensor<?x8x?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x8x?x4xf32>
  %n = ds.neg %x2 : (tensor<?x8x?x4xf32>) -> tensor<?x8x?x4xf32>
  %r = ds.concat %n, %x1 {axis = -1 : i64} : (tensor<?x8x?x4xf32>, tensor<?x8x?x4xf32>) -> tensor<?x8x?x8xf32>
  %rs = ds.mul %r, %sin : (tensor<?x8x?x8xf32>, tensor<?x1x?x8xf32>) -> tensor<?x8x?x8xf32>
  %y = ds.add %xc, %rs : (tensor<?x8x?x8xf32>, tensor<?x8x?x8xf32>) -> tensor<?x8x?x8xf32>
  return %y : tensor<?x8x?x8xf32>
}

// -----

// sin [2, 4, 8] would grow x [4, 8] (the sum is [2, 4, 8]): declined.
// CHECK-LABEL: func.func @table_grows_x
// CHECK-NOT:     ds.rotary
func.func @table_grows_x(%x: tensor<4x8xf32>, %sin: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %cos = ds.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %h = ds.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %zero = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %big = ds.constant {value = dense<8> : tensor<1xi64>} : tensor<1xi64>
  %axis = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %xc = ds.mul %x, %cos : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %x2 = ds.slice %x, %h, %big, %axis : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x4xf32>
  %n = ds.neg %x2 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %x1 = ds.slice %x, %zero, %h, %axis : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x4xf32>
  %r = ds.concat %n, %x1 {axis = 1 : i64} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %rs = ds.mul %r, %sin : (tensor<4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %y = ds.add %rs, %xc : (tensor<2x4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}
