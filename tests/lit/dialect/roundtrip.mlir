// RUN: ds-opt %s | ds-opt | FileCheck %s
// RUN: ds-opt %s --mlir-print-op-generic | ds-opt | FileCheck %s

// The ds dialect prints and parses back losslessly, attributes included.

// CHECK-LABEL: func.func @mlp
// CHECK:         %[[W:.+]] = ds.constant {value = dense<{{.+}}> : tensor<2x2xf32>} : tensor<2x2xf32>
// CHECK:         %[[MM:.+]] = ds.matmul %arg0, %[[W]] : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
// CHECK:         %[[R:.+]] = ds.relu %[[MM]] : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK:         %[[S:.+]] = ds.softmax %[[R]] {axis = -1 : i64} : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK:         return %[[S]]
func.func @mlp(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = ds.constant {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %0 = ds.matmul %x, %w : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %1 = ds.relu %0 : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %2 = ds.softmax %1 {axis = -1 : i64} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  return %2 : tensor<?x2xf32>
}

// CHECK-LABEL: func.func @optional_operands
// CHECK:         %[[NONE:.+]] = ds.none
// CHECK:         ds.clip %arg0, %[[NONE]], %arg1 : (tensor<4xf32>, none, tensor<f32>) -> tensor<4xf32>
func.func @optional_operands(%x: tensor<4xf32>, %hi: tensor<f32>) -> tensor<4xf32> {
  %none = ds.none
  %0 = ds.clip %x, %none, %hi : (tensor<4xf32>, none, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// CHECK-LABEL: func.func @multi_result
// CHECK:         %{{.+}}:2 = ds.top_k %arg0, %{{.+}} {axis = -1 : i64, largest = 1 : i64}
func.func @multi_result(%x: tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi64>) {
  %k = ds.constant {value = dense<3> : tensor<1xi64>} : tensor<1xi64>
  %v, %i = ds.top_k %x, %k {axis = -1 : i64, largest = 1 : i64} : (tensor<2x8xf32>, tensor<1xi64>) -> (tensor<2x3xf32>, tensor<2x3xi64>)
  return %v, %i : tensor<2x3xf32>, tensor<2x3xi64>
}

// CHECK-LABEL: func.func @resource_weights
// CHECK:         ds.constant {value = dense_resource<w0> : tensor<2xf32>}
func.func @resource_weights() -> tensor<2xf32> {
  %w = ds.constant {value = dense_resource<w0> : tensor<2xf32>} : tensor<2xf32>
  return %w : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F00000040"
    }
  }
#-}
