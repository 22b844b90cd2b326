// RUN: ds-opt --split-input-file --ds-quant-int8 --canonicalize %s | FileCheck %s
// RUN: ds-opt --split-input-file --ds-quant-int8 --ds-lower-quant-types %s | FileCheck %s --check-prefix=LOWER
// RUN: ds-opt --split-input-file --ds-quant-int8="mode=dynamic" %s | FileCheck %s --check-prefix=DYN
// RUN: ds-opt --split-input-file --ds-quant-int8="keep-fp32=fc*" %s | FileCheck %s --check-prefix=KEEP
// RUN: ds-opt --split-input-file --ds-quant-int8="smoothquant-alpha=0.5" %s | FileCheck %s --check-prefix=SQ
// RUN: ds-opt --split-input-file --ds-quant-int8='auto-fp32=fc1 auto-fp32-reason="INT8 error too high"' %s | FileCheck %s --check-prefix=AUTO
// RUN: ds-opt --split-input-file --ds-quant-int8="mode=dynamic-per-token" %s | FileCheck %s --check-prefix=TOKEN
// RUN: ds-opt --split-input-file --ds-quant-int8="weight-rounding=gptq" %s | FileCheck %s --check-prefix=GPTQ

// MatMul + bias Add + Relu become one quant_matmul over MLIR quant types. Weights
// [[1, -2], [0.5, 1]]: column scales 1/127 and 2/127 (as f32, printed as doubles);
// range [-1, 3] -> scale 4/255, zero point 64, stated by the qcast.
// CHECK-LABEL: func.func @matmul_bias_relu
// CHECK:         %[[W8:.+]] = ds.constant {value = dense_resource<fc1.int8_weight> : tensor<2x2xi8>}
// CHECK:         %[[W:.+]] = quant.scast %[[W8]] : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.0078740157186985015,0.015748031437397003}>>
// CHECK:         %[[X:.+]] = quant.qcast %arg0 : tensor<3x2xf32> to tensor<3x2x!quant.uniform<u8:f32, 0.015686275437474251:64>>
// CHECK:         %[[Y:.+]] = ds.quant_matmul %[[X]], %[[W]], %{{.+}} {activation = "relu"}
// CHECK-NOT:     ds.matmul
// CHECK-NOT:     ds.relu
// CHECK:         return %[[Y]]
// The int8 weights (after the 64-byte alignment word): 127, -127 / 64, 64 (63.5 rounds
// half to even to 64).
// CHECK:         fc1.int8_weight: "0x400000007F814040"
// What the kernels read (ds-lower-quant-types): the same numbers as operands and attributes.
// LOWER-LABEL: func.func @matmul_bias_relu
// LOWER-NOT:     quant.
// LOWER:         ds.quant_matmul %arg0, %{{.+}}, %{{.+}}, %{{.+}} {activation = "relu", x_scale = 0.0156862754 : f32, x_zero_point = 64 : i64} : (tensor<3x2xf32>, tensor<2x2xi8>, tensor<2xf32>, tensor<2xf32>)
// LOWER-NOT:     quant.
// LOWER:         fc1.weight_scale: "0x400000000402013C0402813C"
// KEEP-LABEL: func.func @matmul_bias_relu
// KEEP:         ds.matmul {{.*}}ds.fp32_reason = "kept by --keep-fp32"
// AUTO-LABEL: func.func @matmul_bias_relu
// AUTO:         ds.matmul {{.*}}ds.fp32_reason = "INT8 error too high"
// Dynamic: x stays float (the kernel ranges it per call); only the weights are typed.
// DYN-LABEL: func.func @matmul_bias_relu
// DYN-NOT:     quant.qcast
// DYN:         ds.quant_matmul %arg0, %{{.+}}, %{{.+}} {activation = "relu"} : (tensor<3x2xf32>, tensor<2x2x!quant.uniform<i8<-127:127>:f32:1, {0.0078740157186985015,0.015748031437397003}>>, tensor<2xf32>)
func.func @matmul_bias_relu(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant {value = dense<[[1.0, -2.0], [0.5, 1.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %b = ds.constant {value = dense<[0.25, -0.25]> : tensor<2xf32>} : tensor<2xf32>
  %m = ds.matmul %x, %w {ds.act_range = array<f32: -1.0, 3.0>} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  %a = ds.add %m, %b : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %r = ds.relu %a : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Gemm with transB: the weights are transposed to [K, N], alpha scales them, beta*C is the bias.
// CHECK-LABEL: func.func @gemm_transb
// CHECK:         ds.quant_matmul %{{.+}}, %{{.+}}, %{{.+}} {activation = "none"} : (tensor<4x3x!quant.uniform<u8:f32, {{[0-9.e+-]+}}>>, tensor<3x2x!quant.uniform<i8<-127:127>:f32:1, {{.+}}>>, tensor<2xf32>) -> tensor<4x2xf32>
func.func @gemm_transb(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = ds.constant {value = dense<[[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]> : tensor<2x3xf32>} : tensor<2x3xf32>
  %c = ds.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %y = ds.gemm %x, %w, %c {alpha = 2.0 : f32, beta = 0.5 : f32, transB = 1 : i64, ds.act_range = array<f32: 0.0, 6.0>} : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Gemm alpha = -1: quantized types need positive scales, so the int8 values flip
// instead: [1, -0.5] -> [127, -64] (half to even) -> [-127, 64].
// CHECK-LABEL: func.func @gemm_negative_alpha
// CHECK:         quant.scast %{{.+}} : tensor<2x1xi8> to tensor<2x1x!quant.uniform<i8<-127:127>:f32:1, {0.0078740157186985015}>>
// CHECK:         neg.int8_weight: "0x400000008140"
func.func @gemm_negative_alpha(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = ds.constant {value = dense<[[1.0], [-0.5]]> : tensor<2x1xf32>} : tensor<2x1xf32>
  %none = ds.none
  %y = ds.gemm %x, %w, %none {alpha = -1.0 : f32, ds.act_range = array<f32: 0.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>, none) -> tensor<4x1xf32> loc("neg")
  return %y : tensor<4x1xf32>
}

// -----

// Conv keeps its ONNX attributes; the Relu folds in.
// CHECK-LABEL: func.func @conv_relu
// CHECK:         ds.quant_conv %{{.+}}, %{{.+}}, %{{.+}} {activation = "relu", kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4x!quant.uniform<u8:f32, {{.+}}>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {{.+}}>>, tensor<3xf32>)
// CHECK-NOT:     ds.relu
func.func @conv_relu(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = ds.constant {value = dense<0.5> : tensor<3x2x3x3xf32>} : tensor<3x2x3x3xf32>
  %b = ds.constant {value = dense<0.1> : tensor<3xf32>} : tensor<3xf32>
  %c = ds.conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>, ds.act_range = array<f32: -0.5, 2.0>} : (tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %r = ds.relu %c : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  return %r : tensor<1x3x4x4xf32>
}

// -----

// Static mode without a calibration range: stays FP32 and says why.
// CHECK-LABEL: func.func @no_range
// CHECK:         ds.matmul {{.*}}ds.fp32_reason = "no calibration range for its input"
func.func @no_range(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant {value = dense<1.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %m = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Weights computed at run time (both operands activations): stays FP32.
// CHECK-LABEL: func.func @activation_weights
// CHECK:         ds.matmul {{.*}}ds.fp32_reason = "right operand is not a 2-D float constant"
func.func @activation_weights(%x: tensor<3x2xf32>, %w: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %m = ds.matmul %x, %w {ds.act_range = array<f32: 0.0, 1.0>} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// SmoothQuant (alpha 0.5): channel 0 of the activation reaches 8, channel 1 only
// 0.5; weight rows peak at 2 and 1. s = sqrt(8)/sqrt(2) = 2 and sqrt(0.5)/sqrt(1)
// = 0.7071: x is multiplied by 1/s = [0.5, 1.4142] first, and the range becomes
// [min(0, -8/2, -0.5/0.7071), max(...)] = [-4, 4] -> scale 8/255 (as float, a hair
// above), zero point round(127.4999...) = 127.
// SQ-LABEL: func.func @smoothquant
// SQ:         %[[INV:.+]] = ds.constant {value = dense_resource<sq.smoothquant_inverse_scale> : tensor<2xf32>}
// SQ:         %[[X:.+]] = ds.mul %arg0, %[[INV]]
// SQ:         %[[XQ:.+]] = quant.qcast %[[X]] : tensor<4x2xf32> to tensor<4x2x!quant.uniform<u8:f32, 0.031372550874948502:127>>
// SQ:         ds.quant_matmul %[[XQ]], {{.*}} {activation = "none", ds.replaces = "sq"}
// SQ:         sq.smoothquant_inverse_scale: "0x400000000000003FF304B53F"
func.func @smoothquant(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = ds.constant {value = dense<[[2.0, -1.0], [1.0, 0.5]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %m = ds.matmul %x, %w {ds.act_range = array<f32: -8.0, 8.0>, ds.act_channel_min = array<f32: -8.0, -0.5>, ds.act_channel_max = array<f32: 8.0, 0.5>} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> loc("sq")
  return %m : tensor<4x2xf32>
}

// -----

// A QDQ model's own activation parameters win over a calibration range.
// CHECK-LABEL: func.func @model_qparams
// CHECK:         quant.qcast %arg0 : tensor<3x2xf32> to tensor<3x2x!quant.uniform<u8:f32, 2.500000e-01:128>>
func.func @model_qparams(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant {value = dense<1.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %m = ds.matmul %x, %w {ds.act_qparams = array<f32: 0.25, 128.0>, ds.act_range = array<f32: -1.0, 1.0>} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// dynamic-per-token: one range per activation row (MatMul only).
// TOKEN-LABEL: func.func @per_token
// TOKEN:         ds.quant_matmul {{.*}}{activation = "none", ds.replaces = "pt", x_granularity = "row"}
func.func @per_token(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant {value = dense<1.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %m = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("pt")
  return %m : tensor<3x2xf32>
}

// -----

// GPTQ with a Hessian that correlates input channels 0 and 1: channel 0 rounds
// 38.54 up to 39, and the error it leaves is paid back by channel 1, which
// rounds 24.70 down to 24 (round to nearest would give 25 = 0x19).
// GPTQ-LABEL: func.func @gptq
// GPTQ:         ds.quant_matmul
// GPTQ-NOT:     ds.act_hessian
// GPTQ:         gq.int8_weight: "0x4000000027187F"
func.func @gptq(%x: tensor<4x3xf32>) -> tensor<4x1xf32> {
  %w = ds.constant {value = dense<[[0.3035], [0.1945], [1.0]]> : tensor<3x1xf32>} : tensor<3x1xf32>
  %m = ds.matmul %x, %w {ds.act_range = array<f32: -1.0, 1.0>, ds.act_hessian = dense<[[1.0, 0.9, 0.5], [0.9, 1.0, 0.5], [0.5, 0.5, 1.0]]> : tensor<3x3xf32>} : (tensor<4x3xf32>, tensor<3x1xf32>) -> tensor<4x1xf32> loc("gq")
  return %m : tensor<4x1xf32>
}
