// RUN: dory-opt %s -p 'qnn-tile,qnn-l3-tile{l2-bytes=40000}' | filecheck %s
// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=200000},qnn-l3-tile{l2-bytes=200000}' | filecheck %s --check-prefix=WHOLE
// RUN: not dory-opt %s -p 'qnn-tile,qnn-l3-tile{l2-bytes=12000}' 2>&1 | filecheck %s --check-prefix=NOFIT

// Pointwise 4x4x256 -> 256: 64 KiB of weights + 2 KiB of k/lambda, 8 KiB of activations.
// With 40,000 B of L2 the weights cannot be copied whole: they stream from L3 in chunks of the
// L1 channel tile (52 channels: 2 x 52 x (256 + 4 + 4) B = 27,456 B of L2 chunk buffers).
func.func @main(%x: tensor<1x4x4x256xui8>) -> tensor<1x4x4x256xui8> {
  %w = qnn.constant dense<1> : tensor<256x1x1x256xi8>
  %k = qnn.constant dense<3> : tensor<256xi32>
  %l = qnn.constant dense<5> : tensor<256xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<256xi32>, tensor<256xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 9, clip = [0, 255]>} : tensor<1x4x4x256xui8>, tensor<256x1x1x256xi8> -> tensor<1x4x4x256xui8>
  func.return %c : tensor<1x4x4x256xui8>
}

// CHECK: qnn.conv2d %x, %w scale(%k, %l : tensor<256xi32>, tensor<256xi32>) {dory.tiling = #dory.tiling<tile = [4, 4, 52], count = [1, 1, 5]
// CHECK-SAME: dory.l3 = {weights = "stream", chunk = 52 : i64, l2 = 27456 : i64}

// One L1 tile: nothing to stream, the parameters are copied whole.
// WHOLE-NOT: dory.l3
// WHOLE: dory.tiling = #dory.tiling<tile = [4, 4, 256], count = [1, 1, 1]

// NOFIT: dory-opt: error: L2 memory: 35,648 B are live at 'layer0' even with its weights streamed{{.*}}, only 12,000 B are available (short by 23,648 B)
