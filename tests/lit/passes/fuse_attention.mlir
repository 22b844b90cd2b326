// RUN: ds-opt --split-input-file --ds-fuse-attention %s | FileCheck %s

// CHECK-LABEL: func.func @causal
// CHECK:         %[[Y:.+]] = ds.attention %arg0, %arg1, %arg2, %{{.+}} {masked_value = -3.40282347E+38 : f32, scale_divisor = 4.000000e+00 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>, tensor<4x4xi1>) -> tensor<1x2x4x8xf32>
// CHECK-NOT:     ds.softmax
// CHECK-NOT:     ds.matmul
// CHECK:         return %[[Y]]
func.func @causal(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %mask = ds.constant {value = dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>} : tensor<4x4xi1>
  %c = ds.constant {value = dense<4.0> : tensor<f32>} : tensor<f32>
  %fill = ds.constant {value = dense<-3.40282347E+38> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %d = ds.div %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = ds.softmax %w {axis = -1 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = ds.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

// Unranked intermediates (as shape inference leaves them in the sample LM) still fuse.
// CHECK-LABEL: func.func @unranked
// CHECK:         ds.attention %arg0, %arg1, %arg2, %arg3 {masked_value = -1.000000e+09 : f32, scale_divisor = 2.000000e+00 : f32} : (tensor<*xf32>, tensor<1x2x8x?xf32>, tensor<1x2x?x8xf32>, tensor<4x4xi1>) -> tensor<*xf32>
func.func @unranked(%q: tensor<*xf32>, %kt: tensor<1x2x8x?xf32>, %v: tensor<1x2x?x8xf32>, %mask: tensor<4x4xi1>) -> tensor<*xf32> {
  %c = ds.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %fill = ds.constant {value = dense<-1.0e9> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<*xf32>, tensor<1x2x8x?xf32>) -> tensor<*xf32>
  %d = ds.div %s, %c : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %p = ds.softmax %w {axis = -1 : i64} : (tensor<*xf32>) -> tensor<*xf32>
  %y = ds.matmul %p, %v : (tensor<*xf32>, tensor<1x2x?x8xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// The scores are also returned: the chain's intermediates must stay.
// CHECK-LABEL: func.func @scores_used_twice
// CHECK-NOT:     ds.attention
// CHECK:         ds.softmax
func.func @scores_used_twice(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xi1>) -> (tensor<4x8xf32>, tensor<4x4xf32>) {
  %c = ds.constant {value = dense<4.0> : tensor<f32>} : tensor<f32>
  %fill = ds.constant {value = dense<-1.0e9> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = ds.div %s, %c : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %p = ds.softmax %w {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = ds.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %p : tensor<4x8xf32>, tensor<4x4xf32>
}

// -----

// The masked value is a tensor argument, not a constant: declined.
// CHECK-LABEL: func.func @fill_not_constant
// CHECK-NOT:     ds.attention
func.func @fill_not_constant(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xi1>, %fill: tensor<f32>) -> tensor<4x8xf32> {
  %c = ds.constant {value = dense<4.0> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = ds.div %s, %c : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %p = ds.softmax %w {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = ds.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Softmax over the query axis is not attention's.
// CHECK-LABEL: func.func @softmax_wrong_axis
// CHECK-NOT:     ds.attention
func.func @softmax_wrong_axis(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xi1>) -> tensor<4x8xf32> {
  %c = ds.constant {value = dense<4.0> : tensor<f32>} : tensor<f32>
  %fill = ds.constant {value = dense<-1.0e9> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = ds.div %s, %c : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %p = ds.softmax %w {axis = 0 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = ds.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A [1, 1, 1] divisor would broadcast [Lq, Lk] scores to rank 3: declined.
// CHECK-LABEL: func.func @divisor_adds_a_dim
// CHECK-NOT:     ds.attention
func.func @divisor_adds_a_dim(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xi1>) -> tensor<1x4x8xf32> {
  %c = ds.constant {value = dense<4.0> : tensor<1x1x1xf32>} : tensor<1x1x1xf32>
  %fill = ds.constant {value = dense<-1.0e9> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = ds.div %s, %c : (tensor<4x4xf32>, tensor<1x1x1xf32>) -> tensor<1x4x4xf32>
  %w = ds.where %mask, %d, %fill : (tensor<4x4xi1>, tensor<1x4x4xf32>, tensor<f32>) -> tensor<1x4x4xf32>
  %p = ds.softmax %w {axis = -1 : i64} : (tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %y = ds.matmul %p, %v : (tensor<1x4x4xf32>, tensor<4x8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// Optimum / torch.onnx: q and kT each scaled by d^-1/4, an additive mask
// where(mask, 0, lowest) of the scores' rank, and the IsNaN guard after the
// softmax: one ds.attention with the scales folded into the divisor.
// CHECK-LABEL: func.func @optimum_additive_mask
// CHECK:         %[[Y:.+]] = ds.attention %arg0, %arg1, %arg2, %arg3 {masked_value = -3.40282347E+38 : f32, nan_rows_to_zero = 1 : i64, scale_divisor = 4.000000e+00 : f32}
// CHECK-NOT:     ds.softmax
// CHECK-NOT:     ds.is_nan
// CHECK:         return %[[Y]]
func.func @optimum_additive_mask(%q: tensor<?x8x?x16xf32>, %kt: tensor<?x8x16x?xf32>, %v: tensor<?x8x?x16xf32>, %mask: tensor<?x1x?x?xi1>) -> tensor<?x8x?x16xf32> {
  %c = ds.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %zero = ds.constant {value = dense<0.0> : tensor<1xf32>} : tensor<1xf32>
  %low = ds.constant {value = dense<-3.40282347E+38> : tensor<1xf32>} : tensor<1xf32>
  %qs = ds.mul %q, %c : (tensor<?x8x?x16xf32>, tensor<f32>) -> tensor<?x8x?x16xf32>
  %ks = ds.mul %kt, %c : (tensor<?x8x16x?xf32>, tensor<f32>) -> tensor<?x8x16x?xf32>
  %s = ds.matmul %qs, %ks : (tensor<?x8x?x16xf32>, tensor<?x8x16x?xf32>) -> tensor<?x8x?x?xf32>
  %b = ds.where %mask, %zero, %low : (tensor<?x1x?x?xi1>, tensor<1xf32>, tensor<1xf32>) -> tensor<?x1x?x?xf32>
  %a = ds.add %s, %b : (tensor<?x8x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x8x?x?xf32>
  %p = ds.softmax %a {axis = -1 : i64} : (tensor<?x8x?x?xf32>) -> tensor<?x8x?x?xf32>
  %n = ds.is_nan %p : (tensor<?x8x?x?xf32>) -> tensor<?x8x?x?xi1>
  %g = ds.where %n, %zero, %p : (tensor<?x8x?x?xi1>, tensor<1xf32>, tensor<?x8x?x?xf32>) -> tensor<?x8x?x?xf32>
  %y = ds.matmul %g, %v : (tensor<?x8x?x?xf32>, tensor<?x8x?x16xf32>) -> tensor<?x8x?x16xf32>
  return %y : tensor<?x8x?x16xf32>
}

// -----

// A mild fill (-100) is an additive bias, not a mask: scores + fill is not
// where(mask, scores, fill). Declined.
// CHECK-LABEL: func.func @additive_mild_fill
// CHECK-NOT:     ds.attention
func.func @additive_mild_fill(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xi1>) -> tensor<4x8xf32> {
  %zero = ds.constant {value = dense<0.0> : tensor<f32>} : tensor<f32>
  %fill = ds.constant {value = dense<-100.0> : tensor<f32>} : tensor<f32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %b = ds.where %mask, %zero, %fill : (tensor<4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<4x4xf32>
  %a = ds.add %b, %s : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = ds.softmax %a {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = ds.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
