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
