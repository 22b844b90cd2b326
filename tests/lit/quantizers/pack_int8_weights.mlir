// RUN: ds-opt --split-input-file --ds-pack-int8-weights %s | FileCheck %s

// A [32, 32] int8 weight (w[k, n] = (32k + n) % 255 - 127) becomes the GEMM's packed
// block: panel bytes (k / 4) * 128 + n * 4 + k % 4, so it starts with w[0..3, 0] =
// 0x81 0xA1 0xC1 0xE1, then w[0..3, 1]; after the 1024 panel bytes come the int32
// column sums (-432, -400, ...). Both ops that read the constant share one block.
// CHECK-LABEL: func.func @packs_shared_weights
// CHECK:         %[[P:.+]] = ds.constant {value = dense_resource<pk.int8_weight_packed> : tensor<1152xi8>}
// CHECK-NOT:     tensor<32x32xi8>
// CHECK:         ds.quant_matmul %arg0, %[[P]], %{{.+}} {w_packed = array<i64: 32, 32>, x_scale = 1.000000e-01 : f32}
// CHECK:         ds.quant_matmul %arg0, %[[P]], %{{.+}} {w_packed = array<i64: 32, 32>}
// CHECK:         pk.int8_weight_packed: "0x4000000081A1C1E182A2C2E283A3C3E384A4C4E4{{([0-9A-F]{252}){8}()}}50FEFFFF70FEFFFF
func.func @packs_shared_weights(%x: tensor<2x32xf32>) -> (tensor<2x32xf32>, tensor<2x32xf32>) {
  %w = ds.constant {value = dense<[[-127,-126,-125,-124,-123,-122,-121,-120,-119,-118,-117,-116,-115,-114,-113,-112,-111,-110,-109,-108,-107,-106,-105,-104,-103,-102,-101,-100,-99,-98,-97,-96],[-95,-94,-93,-92,-91,-90,-89,-88,-87,-86,-85,-84,-83,-82,-81,-80,-79,-78,-77,-76,-75,-74,-73,-72,-71,-70,-69,-68,-67,-66,-65,-64],[-63,-62,-61,-60,-59,-58,-57,-56,-55,-54,-53,-52,-51,-50,-49,-48,-47,-46,-45,-44,-43,-42,-41,-40,-39,-38,-37,-36,-35,-34,-33,-32],[-31,-30,-29,-28,-27,-26,-25,-24,-23,-22,-21,-20,-19,-18,-17,-16,-15,-14,-13,-12,-11,-10,-9,-8,-7,-6,-5,-4,-3,-2,-1,0],[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32],[33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64],[65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96],[97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127,-127],[-126,-125,-124,-123,-122,-121,-120,-119,-118,-117,-116,-115,-114,-113,-112,-111,-110,-109,-108,-107,-106,-105,-104,-103,-102,-101,-100,-99,-98,-97,-96,-95],[-94,-93,-92,-91,-90,-89,-88,-87,-86,-85,-84,-83,-82,-81,-80,-79,-78,-77,-76,-75,-74,-73,-72,-71,-70,-69,-68,-67,-66,-65,-64,-63],[-62,-61,-60,-59,-58,-57,-56,-55,-54,-53,-52,-51,-50,-49,-48,-47,-46,-45,-44,-43,-42,-41,-40,-39,-38,-37,-36,-35,-34,-33,-32,-31],[-30,-29,-28,-27,-26,-25,-24,-23,-22,-21,-20,-19,-18,-17,-16,-15,-14,-13,-12,-11,-10,-9,-8,-7,-6,-5,-4,-3,-2,-1,0,1],[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33],[34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65],[66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97],[98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127,-127,-126],[-125,-124,-123,-122,-121,-120,-119,-118,-117,-116,-115,-114,-113,-112,-111,-110,-109,-108,-107,-106,-105,-104,-103,-102,-101,-100,-99,-98,-97,-96,-95,-94],[-93,-92,-91,-90,-89,-88,-87,-86,-85,-84,-83,-82,-81,-80,-79,-78,-77,-76,-75,-74,-73,-72,-71,-70,-69,-68,-67,-66,-65,-64,-63,-62],[-61,-60,-59,-58,-57,-56,-55,-54,-53,-52,-51,-50,-49,-48,-47,-46,-45,-44,-43,-42,-41,-40,-39,-38,-37,-36,-35,-34,-33,-32,-31,-30],[-29,-28,-27,-26,-25,-24,-23,-22,-21,-20,-19,-18,-17,-16,-15,-14,-13,-12,-11,-10,-9,-8,-7,-6,-5,-4,-3,-2,-1,0,1,2],[3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34],[35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66],[67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98],[99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127,-127,-126,-125],[-124,-123,-122,-121,-120,-119,-118,-117,-116,-115,-114,-113,-112,-111,-110,-109,-108,-107,-106,-105,-104,-103,-102,-101,-100,-99,-98,-97,-96,-95,-94,-93],[-92,-91,-90,-89,-88,-87,-86,-85,-84,-83,-82,-81,-80,-79,-78,-77,-76,-75,-74,-73,-72,-71,-70,-69,-68,-67,-66,-65,-64,-63,-62,-61],[-60,-59,-58,-57,-56,-55,-54,-53,-52,-51,-50,-49,-48,-47,-46,-45,-44,-43,-42,-41,-40,-39,-38,-37,-36,-35,-34,-33,-32,-31,-30,-29],[-28,-27,-26,-25,-24,-23,-22,-21,-20,-19,-18,-17,-16,-15,-14,-13,-12,-11,-10,-9,-8,-7,-6,-5,-4,-3,-2,-1,0,1,2,3],[4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35],[36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67],[68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99],[100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127,-127,-126,-125,-124]]> : tensor<32x32xi8>} : tensor<32x32xi8>
  %s = ds.constant {value = dense<0.5> : tensor<32xf32>} : tensor<32xf32>
  %a = ds.quant_matmul %x, %w, %s {x_scale = 0.1 : f32} : (tensor<2x32xf32>, tensor<32x32xi8>, tensor<32xf32>) -> tensor<2x32xf32> loc("pk")
  %b = ds.quant_matmul %x, %w, %s : (tensor<2x32xf32>, tensor<32x32xi8>, tensor<32xf32>) -> tensor<2x32xf32> loc("pk2")
  return %a, %b : tensor<2x32xf32>, tensor<2x32xf32>
}

// -----

// Declines: N = 10 would grow 3.2x (panels are 32 columns), more than the runtime's
// copy of so small a matrix costs; weights computed at run time; and quantized
// types, which ds-lower-quant-types must lower first.
// CHECK-LABEL: func.func @declines
// CHECK:         ds.quant_matmul %arg0, %{{.+}}, %{{.+}} : (tensor<2x64xf32>, tensor<64x10xi8>, tensor<10xf32>)
// CHECK:         ds.quant_matmul %arg0, %arg1, %{{.+}} : (tensor<2x64xf32>, tensor<64x64xi8>, tensor<64xf32>)
// CHECK:         ds.quant_matmul %arg0, %{{.+}} : (tensor<2x64xf32>, tensor<64x64x!quant.uniform<i8<-127:127>:f32, 5.000000e-01>>)
// CHECK-NOT:     w_packed
func.func @declines(%x: tensor<2x64xf32>, %wr: tensor<64x64xi8>) -> (tensor<2x10xf32>, tensor<2x64xf32>, tensor<2x64xf32>) {
  %w = ds.constant {value = dense<1> : tensor<64x10xi8>} : tensor<64x10xi8>
  %s = ds.constant {value = dense<0.5> : tensor<10xf32>} : tensor<10xf32>
  %a = ds.quant_matmul %x, %w, %s : (tensor<2x64xf32>, tensor<64x10xi8>, tensor<10xf32>) -> tensor<2x10xf32>
  %s2 = ds.constant {value = dense<0.5> : tensor<64xf32>} : tensor<64xf32>
  %b = ds.quant_matmul %x, %wr, %s2 : (tensor<2x64xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<2x64xf32>
  %w8 = ds.constant {value = dense<1> : tensor<64x64xi8>} : tensor<64x64xi8>
  %wq = quant.scast %w8 : tensor<64x64xi8> to tensor<64x64x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %c = ds.quant_matmul %x, %wq : (tensor<2x64xf32>, tensor<64x64x!quant.uniform<i8<-127:127>:f32, 0.5>>) -> tensor<2x64xf32>
  return %a, %b, %c : tensor<2x10xf32>, tensor<2x64xf32>, tensor<2x64xf32>
}

// -----

// quant_conv: K = 16 * 3 * 3 = 144 takes the GEMM path, so its weights get the
// kernel's own packing (one group, channels-last order as C % 4 == 0):
// 32 columns x (144 + 4) bytes. The batch may stay dynamic.
// CHECK-LABEL: func.func @packs_conv
// CHECK:         %[[P:.+]] = ds.constant {value = dense_resource<cv.int8_weight_packed> : tensor<4736xi8>}
// CHECK:         ds.quant_conv %arg0, %[[P]], %{{.+}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, w_packed = array<i64: 32, 16, 3, 3>, x_scale = 1.000000e-01 : f32} : (tensor<?x16x4x4xf32>, tensor<4736xi8>, tensor<32xf32>)
func.func @packs_conv(%x: tensor<?x16x4x4xf32>) -> tensor<?x32x4x4xf32> {
  %w = ds.constant {value = dense<1> : tensor<32x16x3x3xi8>} : tensor<32x16x3x3xi8>
  %s = ds.constant {value = dense<0.5> : tensor<32xf32>} : tensor<32xf32>
  %y = ds.quant_conv %x, %w, %s {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, x_scale = 0.1 : f32} : (tensor<?x16x4x4xf32>, tensor<32x16x3x3xi8>, tensor<32xf32>) -> tensor<?x32x4x4xf32> loc("cv")
  return %y : tensor<?x32x4x4xf32>
}

// -----

// Convs a direct kernel may take keep their weights as they are: a shallow
// "same" conv (K = 9), a depthwise one, and one whose plane size is only known
// at run time (the choice depends on it).
// CHECK-LABEL: func.func @conv_declines
// CHECK-NOT:     w_packed
// CHECK:         return
func.func @conv_declines(%x: tensor<1x1x8x8xf32>, %xd: tensor<1x8x6x6xf32>, %xs: tensor<1x16x?x?xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x8x6x6xf32>, tensor<1x32x?x?xf32>) {
  %w1 = ds.constant {value = dense<1> : tensor<16x1x3x3xi8>} : tensor<16x1x3x3xi8>
  %s1 = ds.constant {value = dense<0.5> : tensor<16xf32>} : tensor<16xf32>
  %a = ds.quant_conv %x, %w1, %s1 {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, x_scale = 0.1 : f32} : (tensor<1x1x8x8xf32>, tensor<16x1x3x3xi8>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  %w2 = ds.constant {value = dense<1> : tensor<8x1x3x3xi8>} : tensor<8x1x3x3xi8>
  %s2 = ds.constant {value = dense<0.5> : tensor<8xf32>} : tensor<8xf32>
  %b = ds.quant_conv %xd, %w2, %s2 {group = 8 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, x_scale = 0.1 : f32} : (tensor<1x8x6x6xf32>, tensor<8x1x3x3xi8>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  %w3 = ds.constant {value = dense<1> : tensor<32x16x3x3xi8>} : tensor<32x16x3x3xi8>
  %s3 = ds.constant {value = dense<0.5> : tensor<32xf32>} : tensor<32xf32>
  %c = ds.quant_conv %xs, %w3, %s3 {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, x_scale = 0.1 : f32} : (tensor<1x16x?x?xf32>, tensor<32x16x3x3xi8>, tensor<32xf32>) -> tensor<1x32x?x?xf32>
  return %a, %b, %c : tensor<1x16x8x8xf32>, tensor<1x8x6x6xf32>, tensor<1x32x?x?xf32>
}
