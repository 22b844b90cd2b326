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
  // expected-error @+1 {{'ds.quant_matmul' op weights must be a rank-2 int8 tensor}}
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
