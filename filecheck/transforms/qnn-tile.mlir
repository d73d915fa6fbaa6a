// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=1400}' | filecheck %s
// RUN: dory-opt %s -p 'qnn-tile' | filecheck %s --check-prefix=WHOLE
// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=1400 objective="dory" double-buffer=false}' | filecheck %s --check-prefix=DORY
// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=700}' | filecheck %s --check-prefix=SINGLE
// RUN: not dory-opt %s -p 'qnn-tile{l1-bytes=600}' 2>&1 | filecheck %s --check-prefix=NOFIT
// RUN: not dory-opt %s -p 'qnn-tile{l1-bytes=1400 timeout=0.000001}' 2>&1 | filecheck %s --check-prefix=CLOCK

// 3x3 conv 8x8x4 -> 8x8x8. Budget 1,400 B: the im2col buffer (2*4*9*8 = 576 B) and the 256 B input
// leave room for 2 output channels per tile, double-buffered: 256 + 2*128 + 2*72 (weights) + 2*8 (k)
// + 2*8 (lambda) + 576 = 1,264 B.
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x4xui8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xui8>
  func.return %c : tensor<1x8x8x8xui8>
}

// CHECK: qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {dory.tiling = #dory.tiling<tile = [8, 8, 2], count = [1, 1, 4], l1 = 1264, budget = 1400, double_buffer = true, objective = "cost", cycles = {{[0-9]+}}, proved = true, solve_us = {{[0-9]+}}>,

// The whole layer fits the default 36,700 B: one tile, single copies.
// WHOLE: dory.tiling = #dory.tiling<tile = [8, 8, 8], count = [1, 1, 1], l1 = 1696, budget = 36700, double_buffer = true, objective = "cost"

// DORY's objective without double buffering fills L1 with larger tiles.
// DORY: dory.tiling = #dory.tiling<tile = [8, 4, 8], count = [1, 2, 1], l1 = 1344, budget = 1400, double_buffer = false, objective = "dory"

// Budget 700 B: the smallest double-buffered tiles need 744 B, so the layer is single-buffered (one
// copy of every tile buffer: 660 B at the smallest), with the best single-buffered tiles.
// SINGLE: dory.tiling = #dory.tiling<tile = [4, 1, 1], count = [2, 8, 8], l1 = 684, budget = 700, double_buffer = false, objective = "cost"

// NOFIT: dory-opt: error: layer 'c' (conv 8x8x4 -> 8x8x8 k3x3 s1x1 p[1, 1, 1, 1] d1x1) does not fit L1: needs at least 744 B double-buffered; 660 B single-buffered with the smallest tiles, but the L1 budget is 600 B

// The wall-clock limit is only a safety net: when it fires the pass fails (never load-dependent tiles).
// CLOCK: dory-opt: error: layer 'c' (conv 8x8x4 -> 8x8x8 k3x3 s1x1 p[1, 1, 1, 1] d1x1): the search and Z3 proof of its tiling did not finish within the 1e-06 s wall-clock safety limit
