// RUN: ds-opt --split-input-file --ds-infer-shapes %s | FileCheck %s

// The head split of an Optimum/torch export: the target shape is built from
// Shape(x) at run time; its -1 resolves through the symbols b and s.
// CHECK-LABEL: func.func @head_split
// CHECK-SAME:    -> tensor<?x?x4x16xf32>
// CHECK:         ds.shape %arg0 : (tensor<?x?x64xf32>) -> tensor<3xi64>
// CHECK:         ds.gather {{.+}} -> tensor<i64>
// CHECK:         ds.unsqueeze {{.+}} -> tensor<1xi64>
// CHECK:         ds.concat {{.+}} -> tensor<4xi64>
// CHECK:         ds.reshape {{.+}} -> tensor<?x?x4x16xf32>
func.func @head_split(%x: tensor<?x?x64xf32> {ds.dim_names = ["b", "s", ""]}) -> tensor<*xf32> {
  %i0 = ds.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %i1 = ds.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %rest = ds.constant {value = dense<[-1, 16]> : tensor<2xi64>} : tensor<2xi64>
  %shape = ds.shape %x : (tensor<?x?x64xf32>) -> tensor<*xi64>
  %b = ds.gather %shape, %i0 {axis = 0 : i64} : (tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %s = ds.gather %shape, %i1 {axis = 0 : i64} : (tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %b1 = ds.unsqueeze %b, %ax : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %s1 = ds.unsqueeze %s, %ax : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %target = ds.concat %b1, %s1, %rest {axis = 0 : i64} : (tensor<*xi64>, tensor<*xi64>, tensor<2xi64>) -> tensor<*xi64>
  %y = ds.reshape %x, %target : (tensor<?x?x64xf32>, tensor<*xi64>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// And back: [b, 4, s, 16] -> transpose -> reshape [b, s, -1] is [?, ?, 64];
// then a MatMul with a [64, 32] weight.
// CHECK-LABEL: func.func @head_merge
// CHECK:         ds.transpose {{.+}} -> tensor<?x?x4x16xf32>
// CHECK:         ds.reshape {{.+}} -> tensor<?x?x64xf32>
// CHECK:         ds.matmul {{.+}} -> tensor<?x?x32xf32>
func.func @head_merge(%x: tensor<?x4x?x16xf32> {ds.dim_names = ["b", "", "s", ""]}, %w: tensor<64x32xf32>) -> tensor<*xf32> {
  %t = ds.transpose %x {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x4x?x16xf32>) -> tensor<*xf32>
  %shape = ds.shape %x : (tensor<?x4x?x16xf32>) -> tensor<*xi64>
  %idx = ds.constant {value = dense<[0, 2]> : tensor<2xi64>} : tensor<2xi64>
  %bs = ds.gather %shape, %idx {axis = 0 : i64} : (tensor<*xi64>, tensor<2xi64>) -> tensor<*xi64>
  %m1 = ds.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %target = ds.concat %bs, %m1 {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %y = ds.reshape %t, %target : (tensor<*xf32>, tensor<*xi64>) -> tensor<*xf32>
  %z = ds.matmul %y, %w : (tensor<*xf32>, tensor<64x32xf32>) -> tensor<*xf32>
  return %z : tensor<*xf32>
}

// -----

// Opset 18 forms: ReduceMean's axes as an operand, Split's num_outputs.
// CHECK-LABEL: func.func @opset18
// CHECK:         ds.reduce_mean {{.+}} -> tensor<2x?x1xf32>
// CHECK:         ds.split {{.+}} -> (tensor<2x?x22xf32>, tensor<2x?x22xf32>, tensor<2x?x20xf32>)
func.func @opset18(%x: tensor<2x?x64xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %axes = ds.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %m = ds.reduce_mean %x, %axes {keepdims = 1 : i64} : (tensor<2x?x64xf32>, tensor<1xi64>) -> tensor<*xf32>
  %a, %b, %c = ds.split %x {axis = 2 : i64, num_outputs = 3 : i64} : (tensor<2x?x64xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
  return %m, %a, %b, %c : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// The KV cache: Concat of past [b, 4, p, 8] and new [b, 4, s, 8] along the
// sequence; an empty past is a 0 that drops out of the sum.
// CHECK-LABEL: func.func @kv_concat
// CHECK:         ds.concat %arg0, %arg1 {{.+}} -> tensor<?x4x?x8xf32>
// CHECK:         ds.concat %arg2, %arg1 {{.+}} -> tensor<?x4x?x8xf32>
// CHECK:         ds.concat %arg3, %arg3 {{.+}} -> tensor<1x4x6x8xf32>
func.func @kv_concat(%past: tensor<?x4x?x8xf32>, %new: tensor<?x4x?x8xf32>, %empty: tensor<?x4x0x8xf32>, %three: tensor<1x4x3x8xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %a = ds.concat %past, %new {axis = 2 : i64} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) -> tensor<*xf32>
  %b = ds.concat %empty, %new {axis = -2 : i64} : (tensor<?x4x0x8xf32>, tensor<?x4x?x8xf32>) -> tensor<*xf32>
  %c = ds.concat %three, %three {axis = 2 : i64} : (tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>) -> tensor<*xf32>
  return %a, %b, %c : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Positions: Range(0, s, 1) has s elements, so a broadcast against a
// [1, s] input keeps one dim; Slice with an open end keeps the dim.
// CHECK-LABEL: func.func @positions
// CHECK:         ds.range {{.+}} -> tensor<?xi64>
// CHECK:         ds.slice {{.+}} -> tensor<?x64xf32>
// CHECK:         ds.slice {{.+}} -> tensor<?x32xf32>
func.func @positions(%ids: tensor<1x?xi64>, %table: tensor<?x64xf32>) -> (tensor<*xi64>, tensor<*xf32>, tensor<*xf32>) {
  %i1 = ds.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %i0 = ds.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %shape = ds.shape %ids : (tensor<1x?xi64>) -> tensor<*xi64>
  %s = ds.gather %shape, %i1 {axis = 0 : i64} : (tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %pos = ds.range %i0, %s, %i1 : (tensor<i64>, tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %st = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %big = ds.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %ax0 = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %ax1 = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %half = ds.constant {value = dense<32> : tensor<1xi64>} : tensor<1xi64>
  %all = ds.slice %table, %st, %big, %ax0 : (tensor<?x64xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %hi = ds.slice %table, %half, %big, %ax1 : (tensor<?x64xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  return %pos, %all, %hi : tensor<*xi64>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Conv and pool geometry (the runtime's), Gemm after Flatten.
// CHECK-LABEL: func.func @cnn
// CHECK:         ds.conv {{.+}} -> tensor<?x8x16x16xf32>
// CHECK:         ds.max_pool {{.+}} -> tensor<?x8x8x8xf32>
// CHECK:         ds.flatten {{.+}} -> tensor<?x512xf32>
// CHECK:         ds.gemm {{.+}} -> tensor<?x10xf32>
func.func @cnn(%x: tensor<?x3x32x32xf32>, %w: tensor<8x3x3x3xf32>, %fc: tensor<10x512xf32>) -> tensor<*xf32> {
  %c = ds.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<?x3x32x32xf32>, tensor<8x3x3x3xf32>) -> tensor<*xf32>
  %p = ds.max_pool %c {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<*xf32>) -> tensor<*xf32>
  %f = ds.flatten %p {axis = 1 : i64} : (tensor<*xf32>) -> tensor<*xf32>
  %y = ds.gemm %f, %fc {transB = 1 : i64} : (tensor<*xf32>, tensor<10x512xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// A known type is refined, never contradicted: the 7 stays although the rule
// would say 8, and a dim the rule cannot know stays what the type says.
// CHECK-LABEL: func.func @keeps_known
// CHECK:         ds.add {{.+}} -> tensor<7xf32>
// CHECK:         ds.non_zero {{.+}} -> tensor<1x?xi64>
func.func @keeps_known(%x: tensor<8xf32>) -> (tensor<7xf32>, tensor<*xi64>) {
  %y = ds.add %x, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<7xf32>
  %n = ds.non_zero %x : (tensor<8xf32>) -> tensor<*xi64>
  return %y, %n : tensor<7xf32>, tensor<*xi64>
}

// -----

// Exporters' Expand of a mask: Where(Equal(shape, -1), 1, shape) is the shape
// itself, since a size is never -1.
// CHECK-LABEL: func.func @expand_where
// CHECK:         ds.expand {{.+}} -> tensor<?x1x?x?xf32>
func.func @expand_where(%ids: tensor<?x?xi64> {ds.dim_names = ["b", "s"]}, %m: tensor<1x1x?x?xf32>) -> tensor<*xf32> {
  %shape = ds.shape %ids : (tensor<?x?xi64>) -> tensor<*xi64>
  %one = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %i0 = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %i1 = ds.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %b = ds.gather %shape, %i0 {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %s = ds.gather %shape, %i1 {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %target = ds.concat %b, %one, %s, %s {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>, tensor<*xi64>, tensor<*xi64>) -> tensor<*xi64>
  %neg = ds.constant {value = dense<-1> : tensor<4xi64>} : tensor<4xi64>
  %isneg = ds.equal %target, %neg : (tensor<*xi64>, tensor<4xi64>) -> tensor<*xi1>
  %ones = ds.constant {value = dense<1> : tensor<4xi64>} : tensor<4xi64>
  %fixed = ds.where %isneg, %ones, %target : (tensor<*xi1>, tensor<4xi64>, tensor<*xi64>) -> tensor<*xi64>
  %y = ds.expand %m, %fixed : (tensor<1x1x?x?xf32>, tensor<*xi64>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// RUN: ds-opt --split-input-file --ds-infer-shapes=fold-values %s | FileCheck %s --check-prefix=FOLD
// With fold-values, the rotate-half split point Shape(q)[3] / 2 of a
// dynamic q with a static head dim becomes a constant; the Shape stays only
// where a dynamic dim is read.
// FOLD-LABEL: func.func @half_point
// FOLD-NOT:     ds.div
// FOLD:         %[[H:.+]] = ds.constant {value = dense<4> : tensor<1xi64>}
// FOLD:         ds.slice %arg0, %{{.+}}, %[[H]], %{{.+}} : {{.+}} -> tensor<?x8x?x4xf32>
func.func @half_point(%q: tensor<?x8x?x8xf32>) -> tensor<*xf32> {
  %shape = ds.shape %q : (tensor<?x8x?x8xf32>) -> tensor<*xi64>
  %i3 = ds.constant {value = dense<3> : tensor<i64>} : tensor<i64>
  %d = ds.gather %shape, %i3 {axis = 0 : i64} : (tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %two = ds.constant {value = dense<2> : tensor<i64>} : tensor<i64>
  %half = ds.div %d, %two : (tensor<*xi64>, tensor<i64>) -> tensor<*xi64>
  %ax = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %h1 = ds.unsqueeze %half, %ax : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %zero = ds.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %axis = ds.constant {value = dense<3> : tensor<1xi64>} : tensor<1xi64>
  %lo = ds.slice %q, %zero, %h1, %axis : (tensor<?x8x?x8xf32>, tensor<1xi64>, tensor<*xi64>, tensor<1xi64>) -> tensor<*xf32>
  return %lo : tensor<*xf32>
}
