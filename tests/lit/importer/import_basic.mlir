// RUN: %python %S/Inputs/make_model.py mlp %t.mlp.onnx
// RUN: ds-optimize %t.mlp.onnx --compile-to=import --elide-weights | FileCheck %s --check-prefix=MLP
// RUN: %python %S/Inputs/make_model.py softmax_opset11 %t.sm.onnx
// RUN: ds-optimize %t.sm.onnx --compile-to=import | FileCheck %s --check-prefix=SM11
// RUN: %python %S/Inputs/make_model.py optional_input %t.clip.onnx
// RUN: ds-optimize %t.clip.onnx --compile-to=import | FileCheck %s --check-prefix=CLIP
// RUN: %python %S/Inputs/make_model.py constant_node %t.const.onnx
// RUN: ds-optimize %t.const.onnx --compile-to=import | FileCheck %s --check-prefix=CONST
// RUN: %python %S/Inputs/make_model.py opset18_reduce %t.r18.onnx
// RUN: ds-optimize %t.r18.onnx --compile-to=import | FileCheck %s --check-prefix=R18

// Dynamic batch stays dynamic; the 16x8 weight is a dense_resource blob, the
// small bias a dense literal; ONNX's shape inference typed the intermediate.
// MLP:       module attributes {ds.opset = 17 : i64
// MLP:       func.func @main(%[[X:.+]]: tensor<?x16xf32> {ds.dim_names = ["batch", ""], ds.name = "x"}) -> (tensor<?x8xf32> {ds.name = "y"})
// MLP-DAG:   %[[W:.+]] = ds.constant {value = dense_resource<w> : tensor<16x8xf32>}
// MLP-DAG:   %[[B:.+]] = ds.constant {value = dense<0.000000e+00> : tensor<8xf32>}
// MLP:       %[[H:.+]] = ds.matmul %[[X]], %[[W]] : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
// MLP:       %[[HB:.+]] = ds.add %[[H]], %[[B]]
// MLP:       %[[Y:.+]] = ds.relu %[[HB]]
// MLP:       return %[[Y]]

// Softmax before opset 13 coerces to 2-D: the importer says so.
// SM11:      ds.softmax %{{.+}} {axis = 1 : i64, legacy_flatten = 1 : i64}

// An empty ONNX input name becomes ds.none in its position.
// CLIP:      %[[NONE:.+]] = ds.none
// CLIP:      ds.clip %arg0, %[[NONE]], %{{.+}} : (tensor<4xf32>, none, tensor<f32>) -> tensor<4xf32>

// Constant nodes become ds.constant; shape inference resolved the -1.
// CONST:     %[[S:.+]] = ds.constant {value = dense<[2, -1]> : tensor<2xi64>} : tensor<2xi64>
// CONST:     ds.reshape %arg0, %[[S]] : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>

// Opset 18 is past ONNX 1.12's schemas; the dialect's own shape rules type
// the intermediate (ReduceMean's axes are an operand since opset 18).
// R18:       module attributes {ds.opset = 18 : i64
// R18:       ds.reduce_mean %arg0, %{{.+}} {keepdims = 1 : i64} : (tensor<2x8xf32>, tensor<1xi64>) -> tensor<2x1xf32>
// R18:       ds.sub %arg0, %{{.+}} : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>

// Without --compile-to, ds-optimize prints a summary of the imported model.
// RUN: ds-optimize %t.mlp.onnx | FileCheck %s --check-prefix=SUMMARY
// SUMMARY:      model: {{.+}}mlp.onnx (opset 17)
// SUMMARY-NEXT:   input  x: tensor<?x16xf32>
// SUMMARY-NEXT:   output y: tensor<?x8xf32>
// SUMMARY-NEXT:   3 ops, 136 parameters (0.00 MiB)
// SUMMARY-NEXT:   ops: ds.add x1 ds.matmul x1 ds.relu x1
