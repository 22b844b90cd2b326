// Input of fold_constants.mlir's max-bytes case (an Expand to 64 floats).
func.func @large(%x: tensor<64xf32>) -> tensor<64xf32> {
  %c = ds.constant {value = dense<1.0> : tensor<1xf32>} : tensor<1xf32>
  %shape = ds.constant {value = dense<64> : tensor<1xi64>} : tensor<1xi64>
  %e = ds.expand %c, %shape : (tensor<1xf32>, tensor<1xi64>) -> tensor<64xf32>
  %y = ds.add %x, %e : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
  return %y : tensor<64xf32>
}
