// RUN: ds-opt %s --split-input-file --verify-diagnostics

func.func @too_few_operands(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ds.add' op expects 2 operands, got 1}}
  %0 = ds.add %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @too_many_operands(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ds.clip' op expects 1 or more operands (at most 3), got 4}}
  %0 = ds.clip %x, %x, %x, %x : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @required_operand_is_none(%x: tensor<4xf32>) -> tensor<4xf32> {
  %none = ds.none
  // expected-error @+1 {{'ds.matmul' op operand #1 is required but is none}}
  %0 = ds.matmul %x, %none : (tensor<4xf32>, none) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @too_many_results(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ds.relu' op expects 1 to 1 results, got 2}}
  %0:2 = ds.relu %x : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0#0 : tensor<4xf32>
}

// -----

func.func @unary_shape_changes(%x: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'ds.exp' op requires the same shape for all operands and results}}
  %0 = ds.exp %x : (tensor<4xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @constant_type_mismatch() -> tensor<3xf32> {
  // expected-error @+1 {{'ds.constant' op value type 'tensor<2xf32>' does not match result type 'tensor<3xf32>'}}
  %0 = ds.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @quant_matmul_float_weights(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op weights must be a rank-2 tensor of int8 or !quant.uniform<i8...>}}
  %0 = ds.quant_matmul %x, %w, %s {x_scale = 0.1 : f32} : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @quant_matmul_k_mismatch(%x: tensor<2x5xf32>, %w: tensor<4x3xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op activation has K = 5, weights have K = 4}}
  %0 = ds.quant_matmul %x, %w, %s : (tensor<2x5xf32>, tensor<4x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @quant_conv_bad_zero_point(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xi8>, %s: tensor<3xf32>) -> tensor<1x3x2x2xf32> {
  // expected-error @+1 {{'ds.quant_conv' op x_zero_point must be in [0, 255] (uint8 activations)}}
  %0 = ds.quant_conv %x, %w, %s {x_scale = 0.1 : f32, x_zero_point = 300 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x3x3xi8>, tensor<3xf32>) -> tensor<1x3x2x2xf32>
  return %0 : tensor<1x3x2x2xf32>
}

// -----

// The quantized-types form (what ds-quant-int8 writes): weights per output channel,
// symmetric, in [-127, 127]; the activation uint8 per tensor; scales in the types only.
!w_dim0 = !quant.uniform<i8<-127:127>:f32:0, {0.5, 0.25}>
func.func @quant_matmul_weights_wrong_axis(%x: tensor<2x2xf32>, %w: tensor<2x2x!w_dim0>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op quantized weights must be quantized along dim 1 (the output channels), got 0}}
  %0 = ds.quant_matmul %x, %w : (tensor<2x2xf32>, tensor<2x2x!w_dim0>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!w_zp = !quant.uniform<i8<-127:127>:f32:1, {0.5:3, 0.25}>
func.func @quant_matmul_weights_asymmetric(%x: tensor<2x2xf32>, %w: tensor<2x2x!w_zp>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op quantized weights must be symmetric (zero points 0)}}
  %0 = ds.quant_matmul %x, %w : (tensor<2x2xf32>, tensor<2x2x!w_zp>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!w_full = !quant.uniform<i8:f32:1, {0.5, 0.25}>
func.func @quant_matmul_weights_full_int8_range(%x: tensor<2x2xf32>, %w: tensor<2x2x!w_full>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op quantized weights must be !quant.uniform<i8<-127:127>:f32...>}}
  %0 = ds.quant_matmul %x, %w : (tensor<2x2xf32>, tensor<2x2x!w_full>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!w = !quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>
func.func @quant_matmul_typed_with_scale_operand(%x: tensor<2x2xf32>, %w: tensor<2x2x!w>, %s: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op with quantized weights the operands are x, w and an optional bias}}
  %0 = ds.quant_matmul %x, %w, %s, %b : (tensor<2x2xf32>, tensor<2x2x!w>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!x = !quant.uniform<u8:f32, 0.125:64>
func.func @quant_matmul_typed_activation_storage_weights(%x: tensor<2x2x!x>, %w: tensor<2x2xi8>, %s: tensor<2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op a quantized activation needs quantized weights}}
  %0 = ds.quant_matmul %x, %w, %s : (tensor<2x2x!x>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!x_s8 = !quant.uniform<i8:f32, 0.125>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>
func.func @quant_matmul_signed_activation(%x: tensor<2x2x!x_s8>, %w: tensor<2x2x!w>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op a quantized activation must be !quant.uniform<u8:f32, scale:zero_point>}}
  %0 = ds.quant_matmul %x, %w : (tensor<2x2x!x_s8>, tensor<2x2x!w>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

!x = !quant.uniform<u8:f32, 0.125:64>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.5, 0.25}>
func.func @quant_matmul_typed_activation_and_x_scale(%x: tensor<2x2x!x>, %w: tensor<2x2x!w>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op a quantized activation carries its parameters in its type}}
  %0 = ds.quant_matmul %x, %w {x_scale = 0.125 : f32} : (tensor<2x2x!x>, tensor<2x2x!w>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// ds-pack-int8-weights' form: w is the GEMM's packed block, whose size [K, N] fixes.
func.func @quant_matmul_packed_wrong_size(%x: tensor<2x8xf32>, %w: tensor<100xi8>, %s: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op packed weights for [8, 4] must be tensor<384xi8>}}
  %0 = ds.quant_matmul %x, %w, %s {w_packed = array<i64: 8, 4>} : (tensor<2x8xf32>, tensor<100xi8>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @quant_matmul_packed_k_mismatch(%x: tensor<2x9xf32>, %w: tensor<384xi8>, %s: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ds.quant_matmul' op activation has K = 9, weights have K = 8}}
  %0 = ds.quant_matmul %x, %w, %s {w_packed = array<i64: 8, 4>} : (tensor<2x9xf32>, tensor<384xi8>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// A packed conv: one block per group, 32 columns x (C/group * kh * kw rounded up to 4, + 4)
// bytes each: 2 x 32 x (20 + 4).
func.func @quant_conv_packed_wrong_size(%x: tensor<1x4x6x6xf32>, %w: tensor<100xi8>, %s: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error @+1 {{'ds.quant_conv' op packed weights for [4, 2, 3, 3] must be tensor<1536xi8>}}
  %0 = ds.quant_conv %x, %w, %s {group = 2 : i64, w_packed = array<i64: 4, 2, 3, 3>} : (tensor<1x4x6x6xf32>, tensor<100xi8>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}
