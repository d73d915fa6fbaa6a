// RUN: dory-opt %s --split-input-file -p convert-qnn-to-dory | filecheck %s

// Conv tiled into 4 output-channel tiles (tiling given, as qnn-tile{l1-bytes=1400} chooses it).
// L1: in [0, 256), out copies at 256/384, weights 512/584, k 656/664, lambda 672/680, im2col 688.
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {dory.tiling = #dory.tiling<tile = [8, 8, 2], count = [1, 1, 4], l1 = 1264, budget = 1400, double_buffer = true, objective = "cost", cycles = 2692, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x4xui8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xui8>
  func.return %c : tensor<1x8x8x8xui8>
}

// CHECK:      "memref.global"() <{sym_name = "layer0_conv_weights", type = memref<8x3x3x4xi8>, initial_value = dense<1> : tensor<8x3x3x4xi8>
// CHECK:      func.func @layer0_conv(%l1: memref<1400xi8>, %in: memref<1x8x8x4xui8>, %weights: memref<8x3x3x4xi8>, %k: memref<8xi32>, %lambda_: memref<8xi32>, %out: memref<1x8x8x8xui8>)
// CHECK-SAME: dory.kernel = "pulp_nn_conv_Ho_parallel"
// CHECK-SAME: dory.l1_buffers = {in = array<i64: 256, 0>, out = array<i64: 128, 256, 384>, weights = array<i64: 72, 512, 584>, k = array<i64: 8, 656, 664>, lambda = array<i64: 8, 672, 680>, im2col = array<i64: 576, 688>}
// CHECK-DAG:  [[C0:%.*]] = arith.constant 0 : index
// CHECK-DAG:  [[W0:%.*]] = arith.constant 512 : index
// CHECK-DAG:  [[W1:%.*]] = arith.constant 584 : index
// CHECK-DAG:  [[EXT72:%.*]] = arith.constant 72 : index
// CHECK-DAG:  [[O0:%.*]] = arith.constant 256 : index
// CHECK-DAG:  [[K0:%.*]] = arith.constant 656 : index
// CHECK-DAG:  [[L0:%.*]] = arith.constant 672 : index
// CHECK-DAG:  [[IM:%.*]] = arith.constant 688 : index
// Prologue: parameters of channel tile 0 and the (stationary) input tile.
// CHECK:      dory.dma_start %weights[[[C0]]], %l1[[[W0]]] {size = 72 : i64, length = 72 : i64, stride = 72 : i64, dir = "l2_to_l1", channel = "weights"}
// CHECK:      dory.dma_start %in[[[C0]]], %l1[[[C0]]] {size = 256 : i64, length = 256 : i64, stride = 256 : i64, dir = "l2_to_l1", channel = "in"}
// CHECK:      dory.dma_wait {channel = "weights"}
// CHECK:      dory.dma_wait {channel = "in"}
// Channel tile 1's weights go to the other copy before tile 0 computes.
// CHECK-NEXT: dory.dma_start %weights[[[EXT72]]], %l1[[[W1]]] {size = 72 : i64, length = 72 : i64, stride = 72 : i64, dir = "l2_to_l1", channel = "weights"}
// CHECK:      dory.conv %l1 (in = [[C0]], im2col = [[IM]], out = [[O0]], weights = [[W0]], k = [[K0]], lambda = [[L0]]) {out_mult = 1, out_shift = 5, dim_in_x = 8, dim_in_y = 8, ch_in = 4, dim_out_x = 8, dim_out_y = 8, ch_out = 2, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 1, requant_bits = 32}
// Output tile: 64 pixels of 2 channels, a 2-D command with an 8 B L2 stride.
// CHECK-NEXT: dory.dma_start %out[[[C0]]], %l1[[[O0]]] {size = 128 : i64, length = 2 : i64, stride = 8 : i64, dir = "l1_to_l2", channel = "out"}
// CHECK-COUNT-3: dory.conv
// CHECK-NEXT: dory.dma_wait {channel = "out"}
// CHECK-NEXT: dory.dma_start %out
// CHECK-NEXT: dory.dma_wait {channel = "out"}
// CHECK-NEXT: func.return
// CHECK:      func.func @main(%{{.*}}: memref<1x8x8x4xui8>, [[OUT:%.*]]: memref<1x8x8x8xui8>)
// CHECK-NEXT: %l1 = dory.l1_arena : memref<1400xi8>
// CHECK:      func.call @layer0_conv(%l1, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, [[OUT]])

// -----

// Depthwise 3x3 stride 2: the top padding (1) differs from the bottom one (0) at this size, so the
// zero row is materialised in L1 (dory.zero) and the kernel gets no vertical padding; the CHW input
// is gathered by one 2-D command per channel in an scf.for loop.
func.func @main(%x: tensor<1x6x5x4xui8>) -> tensor<1x3x3x4xui8> {
  %w = qnn.constant dense<1> : tensor<4x3x3x1xi8>
  %k = qnn.constant dense<1> : tensor<4xi64>
  %l = qnn.constant dense<0> : tensor<4xi64>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<4xi64>, tensor<4xi64>) {dory.tiling = #dory.tiling<tile = [3, 3, 4], count = [1, 1, 1], l1 = 472, budget = 900, double_buffer = true, objective = "cost", cycles = 871, proved = true, solve_us = 1>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nhwc", requant = #qnn.requant<shift = 3, clip = [0, 255]>} : tensor<1x6x5x4xui8>, tensor<4x3x3x1xi8> -> tensor<1x3x3x4xui8>
  func.return %c : tensor<1x3x3x4xui8>
}

// CHECK:      func.func @layer0_depthwise(%l1: memref<900xi8>, %in: memref<1x6x5x4xui8>, %weights: memref<4x3x3xi8>, %k: memref<4xi64>
// CHECK:      dory.zero %l1[%{{.*}}] {size = 140 : i64}
// CHECK-NEXT: scf.for [[C:%.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:   [[LOC:%.*]] = arith.muli [[C]], %{{.*}} : index
// CHECK-NEXT:   [[L1OFF:%.*]] = arith.addi [[LOC]], %{{.*}} : index
// CHECK-NEXT:   dory.dma_start %in[[[C]]], %l1[[[L1OFF]]] {size = 30 : i64, length = 1 : i64, stride = 4 : i64, dir = "l2_to_l1", channel = "in"}
// CHECK-NEXT: }
// CHECK:      dory.depthwise %l1 (in = %{{.*}}, bufferC = %{{.*}}, out = %{{.*}}, weights = %{{.*}}, k = %{{.*}}, lambda = %{{.*}}) {out_mult = 1, out_shift = 3, dim_in_x = 5, dim_in_y = 7, ch_in = 4, dim_out_x = 3, dim_out_y = 3, ch_out = 4, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 0, padding_y_bottom = 0, padding_x_left = 1, padding_x_right = 1, stride_x = 2, stride_y = 2, flag_relu = 1, flag_batch_norm = 1, requant_bits = 64}
