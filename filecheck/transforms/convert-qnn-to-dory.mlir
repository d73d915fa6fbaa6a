// RUN: dory-opt %s --split-input-file -p convert-qnn-to-dory | filecheck %s

// Conv tiled into 4 output-channel tiles (tiling given, as qnn-tile{l1-bytes=1400} chooses it): one
// scf.for over the tiles; the stationary input and channel tile 0's parameters are fetched before
// it. L1: in [0, 256), out copies at 256/384, weights 512/584, k 656/664, lambda 672/680, im2col 688.
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
// CHECK-DAG:  [[C1:%.*]] = arith.constant 1 : index
// CHECK-DAG:  [[C2:%.*]] = arith.constant 2 : index
// CHECK-DAG:  [[C4:%.*]] = arith.constant 4 : index
// CHECK-DAG:  [[C8:%.*]] = arith.constant 8 : index
// CHECK-DAG:  [[C72:%.*]] = arith.constant 72 : index
// CHECK-DAG:  [[C128:%.*]] = arith.constant 128 : index
// CHECK-DAG:  [[C256:%.*]] = arith.constant 256 : index
// CHECK-DAG:  [[W0:%.*]] = arith.constant 512 : index
// CHECK-DAG:  [[IM:%.*]] = arith.constant 688 : index
// Prologue: parameters of channel tile 0 and the (stationary) input tile.
// CHECK:      dory.dma_start %weights[[[C0]]], %l1[[[W0]]] {size = 72, length = 72, stride = 72, dir = "l2_to_l1", channel = "weights"}
// CHECK:      dory.dma_start %in[[[C0]]], %l1[[[C0]]] {size = 256, length = 256, stride = 256, dir = "l2_to_l1", channel = "in"}
// The tile loop.
// CHECK-NEXT: scf.for %t = [[C0]] to [[C4]] step [[C1]] {
// CHECK-NEXT:   dory.dma_wait {channel = "in"}
// CHECK-NEXT:   dory.dma_wait {channel = "weights"}
// CHECK-NEXT:   dory.dma_wait {channel = "k"}
// CHECK-NEXT:   dory.dma_wait {channel = "lambda"}
// The next channel tile's weights go to the other copy (slot t+1 mod 2) before this tile computes.
// CHECK-NEXT:   %t_next = arith.addi %t, [[C1]] : index
// CHECK-NEXT:   %has_next = arith.cmpi slt, %t_next, [[C4]] : index
// CHECK-NEXT:   scf.if %has_next {
// CHECK-NEXT:     %next_weights_ext = arith.muli %t_next, [[C72]] : index
// CHECK-NEXT:     %next_c_slot = arith.remsi %t_next, [[C2]] : index
// CHECK-NEXT:     [[NW:%.*]] = arith.muli %next_c_slot, [[C72]] : index
// CHECK-NEXT:     %next_weights_l1 = arith.addi [[NW]], [[W0]] : index
// CHECK-NEXT:     dory.dma_start %weights[%next_weights_ext], %l1[%next_weights_l1] {size = 72, length = 72, stride = 72, dir = "l2_to_l1", channel = "weights"}
// CHECK:          dory.dma_start %lambda_
// CHECK-NEXT:   }
// This tile's buffers: output and parameter copies alternate.
// CHECK-NEXT:   %c_slot = arith.remsi %t, [[C2]] : index
// CHECK-NEXT:   [[O:%.*]] = arith.muli %c_slot, [[C128]] : index
// CHECK-NEXT:   %out_l1 = arith.addi [[O]], [[C256]] : index
// CHECK-NEXT:   [[W:%.*]] = arith.muli %c_slot, [[C72]] : index
// CHECK-NEXT:   %weights_l1 = arith.addi [[W]], [[W0]] : index
// CHECK:        dory.conv %l1 (in = [[C0]], im2col = [[IM]], out = %out_l1, weights = %weights_l1, k = %k_l1, lambda = %lambda_l1) {out_mult = 1, out_shift = 5, dim_in_x = 8, dim_in_y = 8, ch_in = 4, dim_out_x = 8, dim_out_y = 8, ch_out = 2, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 1, requant_bits = 32}
// Output tile: 64 pixels of 2 channels, a 2-D command with an 8 B L2 stride, at channel 2t.
// CHECK-NEXT:   dory.dma_wait {channel = "out"}
// CHECK-NEXT:   %c_out = arith.muli %t, [[C2]] : index
// CHECK-NEXT:   dory.dma_start %out[%c_out], %l1[%out_l1] {size = 128, length = 2, stride = 8, dir = "l1_to_l2", channel = "out"}
// CHECK-NEXT: }
// CHECK-NEXT: dory.dma_wait {channel = "out"}
// CHECK-NEXT: func.return
// CHECK-NOT:  dory.conv
// CHECK:      func.func @main(%{{.*}}: memref<1x8x8x4xui8>, [[OUT:%.*]]: memref<1x8x8x8xui8>)
// CHECK-NEXT: %l1 = dory.l1_arena : memref<1400xi8>
// CHECK:      func.call @layer0_conv(%l1, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, [[OUT]])

// -----

// Conv tiled into 3 row tiles of 3, 3 and 1 output rows (7 rows): the border tile's size is a
// min, the per-tile padding max(0, ...) on each side, and the DMA sizes follow.
func.func @main(%x: tensor<1x7x8x4xui8>) -> tensor<1x7x8x4xui8> {
  %w = qnn.constant dense<1> : tensor<4x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
  %l = qnn.constant dense<[8, 7, 6, 5]> : tensor<4xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<4xi32>, tensor<4xi32>) {dory.tiling = #dory.tiling<tile = [3, 8, 4], count = [3, 1, 1], l1 = 1264, budget = 1400, double_buffer = true, objective = "cost", cycles = 1, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x7x8x4xui8>, tensor<4x3x3x4xi8> -> tensor<1x7x8x4xui8>
  func.return %c : tensor<1x7x8x4xui8>
}

// CHECK:      func.func @layer0_conv(
// CHECK-SAME: dory.l1_buffers = {in = array<i64: 160, 0, 160>, out = array<i64: 96, 320, 416>, weights = array<i64: 144, 512>
// CHECK-DAG:  [[C0:%.*]] = arith.constant 0 : index
// CHECK-DAG:  [[C1:%.*]] = arith.constant 1 : index
// CHECK-DAG:  [[C3:%.*]] = arith.constant 3 : index
// CHECK-DAG:  [[C6:%.*]] = arith.constant 6 : index
// CHECK-DAG:  [[C7:%.*]] = arith.constant 7 : index
// CHECK-DAG:  [[C32:%.*]] = arith.constant 32 : index
// CHECK-DAG:  [[C96:%.*]] = arith.constant 96 : index
// Tile 0 needs input rows [0, 4): 4 rows of 32 B, one command.
// CHECK:      dory.dma_start %in[[[C0]]], %l1[[[C0]]] {size = 128, length = 128, stride = 128, dir = "l2_to_l1", channel = "in"}
// CHECK-NEXT: scf.for %t = [[C0]] to [[C3]] step [[C1]] {
// Next tile's input rows [3(t+1) - 1, min(3(t+1) + 4, 7)) into the other input copy.
// CHECK:        scf.if %has_next {
// CHECK-NEXT:     %next_h_out = arith.muli %t_next, [[C3]] : index
// CHECK-NEXT:     [[LO:%.*]] = arith.subi %next_h_out, [[C1]] : index
// CHECK-NEXT:     %next_h_in = arith.maxsi [[LO]], [[C0]] : index
// CHECK-NEXT:     %next_in_ext = arith.muli %next_h_in, [[C32]] : index
// CHECK:          %next_h_fetch = arith.subi %next_h_in_end, %next_h_in : index
// CHECK-NEXT:     %next_in_bytes = arith.muli %next_h_fetch, [[C32]] : index
// CHECK-NEXT:     dory.dma_start %in[%next_in_ext], %l1[%next_in_l1] {size = %next_in_bytes, length = %next_in_bytes, stride = %next_in_bytes, dir = "l2_to_l1", channel = "in"}
// CHECK-NEXT:   }
// This tile: rows [3t, min(3t + 3, 7)), padding max(1 - 3t, 0) on top, max(end - 6, 0) at the bottom.
// CHECK-NEXT:   %h_out = arith.muli %t, [[C3]] : index
// CHECK-NEXT:   [[E:%.*]] = arith.addi %h_out, [[C3]] : index
// CHECK-NEXT:   %h_out_end = arith.minsi [[E]], [[C7]] : index
// CHECK-NEXT:   %h_size = arith.subi %h_out_end, %h_out : index
// CHECK:        %h_fetch = arith.subi %h_in_end, %h_in : index
// CHECK-NEXT:   [[NLO:%.*]] = arith.subi [[C1]], %h_out : index
// CHECK-NEXT:   %h_pad_lo = arith.maxsi [[NLO]], [[C0]] : index
// CHECK-NEXT:   [[HI:%.*]] = arith.subi %h_out_end, [[C6]] : index
// CHECK-NEXT:   %h_pad_hi = arith.maxsi [[HI]], [[C0]] : index
// CHECK:        dory.conv %l1 (in = %in_l1, im2col = %{{.*}}, out = %out_l1, weights = %{{.*}}, k = %{{.*}}, lambda = %{{.*}}) {out_mult = 1, out_shift = 5, dim_in_x = 8, dim_in_y = %h_fetch, ch_in = 4, dim_out_x = 8, dim_out_y = %h_size, ch_out = 4, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = %h_pad_lo, padding_y_bottom = %h_pad_hi, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 1, requant_bits = 32}
// CHECK-NEXT:   dory.dma_wait {channel = "out"}
// CHECK-NEXT:   %out_ext = arith.muli %t, [[C96]] : index
// CHECK-NEXT:   %out_bytes = arith.muli %h_size, [[C32]] : index
// CHECK-NEXT:   dory.dma_start %out[%out_ext], %l1[%out_l1] {size = %out_bytes, length = %out_bytes, stride = %out_bytes, dir = "l1_to_l2", channel = "out"}

// -----

// Depthwise 3x3 pad 1 tiled into row tiles of 3: the first tile's top padding (1, 0) and the last
// tile's bottom padding (0, 1) are not symmetric, so they become zero rows in L1 and the kernel gets
// no vertical padding. The DMA moves the fetched HWC rows densely (whole rows of all channels: one
// contiguous command per tile, no per-channel gather); after the wait the cores transpose them to the
// kernel's CHW buffer (dory.hwc_to_chw writes the zero rows too), which frees the input buffer for the
// next tile's DMA before the kernel call.
func.func @main(%x: tensor<1x7x5x4xui8>) -> tensor<1x7x5x4xui8> {
  %w = qnn.constant dense<1> : tensor<4x3x3x1xi8>
  %k = qnn.constant dense<1> : tensor<4xi32>
  %l = qnn.constant dense<0> : tensor<4xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<4xi32>, tensor<4xi32>) {dory.tiling = #dory.tiling<tile = [3, 5, 4], count = [3, 1, 1], l1 = 536, budget = 1000, double_buffer = true, objective = "cost", cycles = 1, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nhwc", requant = #qnn.requant<shift = 3, clip = [0, 255]>} : tensor<1x7x5x4xui8>, tensor<4x3x3x1xi8> -> tensor<1x7x5x4xui8>
  func.return %c : tensor<1x7x5x4xui8>
}

// CHECK:      func.func @layer0_depthwise(
// CHECK-SAME: dory.l1_buffers = {in = array<i64: 100, 0>, in_chw = array<i64: 104, 100>, out = array<i64: 60, 204, 264>,
// CHECK-SAME: dory.dma_queues = {weights = 1 : i64, k = 1 : i64, lambda = 1 : i64, in = 1 : i64, out = 1 : i64}
// CHECK-NOT:  dory.zero
// CHECK:      dory.dma_start %in[%{{.*}}], %l1[%{{.*}}] {size = 80, length = 80, stride = 80, dir = "l2_to_l1", channel = "in"}
// CHECK:      scf.for %t = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:        dory.dma_wait {channel = "lambda"}
// CHECK:        dory.hwc_to_chw %l1 (in = %{{.*}}, out = [[CHW:%.*]]) {rows = %h_fetch, cols = 5, chans = 4, top = %h_zero_lo, left = 0, dst_rows = %h_l1, dst_cols = 5}
// CHECK-NEXT:   %t_next = arith.addi %t, %{{.*}} : index
// CHECK:        scf.if %has_next {
// CHECK:          dory.dma_start %in[%next_in_ext], %l1[%{{.*}}] {size = %next_in_bytes, length = %next_in_bytes, stride = %next_in_bytes, dir = "l2_to_l1", channel = "in"}
// CHECK-NEXT:   }
// CHECK:        dory.depthwise %l1 (in = [[CHW]], {{.*}}) {out_mult = 1, out_shift = 3, dim_in_x = 5, dim_in_y = %h_l1, ch_in = 4, dim_out_x = 5, dim_out_y = %h_size, ch_out = 4, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 0, padding_y_bottom = 0, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1,
// CHECK-NOT:  dory.zero

// -----

// A single tile, hence no tile loop: depthwise 3x3 stride 2, whose top padding (1) differs from the
// bottom one (0) at this size, so the zero row is materialised in L1 and the kernel gets no vertical
// padding; the whole input is one contiguous command, transposed with one zero row on top.
func.func @main(%x: tensor<1x6x5x4xui8>) -> tensor<1x3x3x4xui8> {
  %w = qnn.constant dense<1> : tensor<4x3x3x1xi8>
  %k = qnn.constant dense<1> : tensor<4xi64>
  %l = qnn.constant dense<0> : tensor<4xi64>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<4xi64>, tensor<4xi64>) {dory.tiling = #dory.tiling<tile = [3, 3, 4], count = [1, 1, 1], l1 = 612, budget = 900, double_buffer = true, objective = "cost", cycles = 871, proved = true, solve_us = 1>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nhwc", requant = #qnn.requant<shift = 3, clip = [0, 255]>} : tensor<1x6x5x4xui8>, tensor<4x3x3x1xi8> -> tensor<1x3x3x4xui8>
  func.return %c : tensor<1x3x3x4xui8>
}

// CHECK:      func.func @layer0_depthwise(%l1: memref<900xi8>, %in: memref<1x6x5x4xui8>, %weights: memref<4x3x3xi8>, %k: memref<4xi64>
// CHECK-NOT:  scf.for
// CHECK:      dory.dma_start %in[%{{.*}}], %l1[%{{.*}}] {size = 120, length = 120, stride = 120, dir = "l2_to_l1", channel = "in"}
// CHECK:      dory.dma_wait {channel = "lambda"}
// CHECK-NEXT: dory.hwc_to_chw %l1 (in = %{{.*}}, out = [[CHW:%.*]]) {rows = 6, cols = 5, chans = 4, top = 1, left = 0, dst_rows = 7, dst_cols = 5}
// CHECK-NEXT: dory.depthwise %l1 (in = [[CHW]], bufferC = %{{.*}}, out = %{{.*}}, weights = %{{.*}}, k = %{{.*}}, lambda = %{{.*}}) {out_mult = 1, out_shift = 3, dim_in_x = 5, dim_in_y = 7, ch_in = 4, dim_out_x = 3, dim_out_y = 3, ch_out = 4, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 0, padding_y_bottom = 0, padding_x_left = 1, padding_x_right = 1, stride_x = 2, stride_y = 2, flag_relu = 1, flag_batch_norm = 1, requant_bits = 64}
// CHECK-NOT:  scf.for

// -----

// The same conv streaming its parameters from L3 (dory.l3, as qnn-l3-tile sets it): the globals stay
// in L3 and @main allocates two L2 chunk slots per parameter; the prologue reads chunks 0 and 1, and
// each new channel tile waits for its chunk, moves it to L1 and reads the next chunk into the other slot.
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {dory.l3 = {weights = "stream", chunk = 2 : i64, l2 = 176 : i64}, dory.tiling = #dory.tiling<tile = [8, 8, 2], count = [1, 1, 4], l1 = 1264, budget = 1400, double_buffer = true, objective = "cost", cycles = 2692, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x4xui8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xui8>
  func.return %c : tensor<1x8x8x8xui8>
}

// CHECK:      func.func @layer0_conv(%l1: memref<1400xi8>, %in: memref<1x8x8x4xui8>, %weights: memref<8x3x3x4xi8>, %k: memref<8xi32>, %lambda_: memref<8xi32>, %weights_l2: memref<144xui8>, %k_l2: memref<16xui8>, %lambda__l2: memref<16xui8>, %out: memref<1x8x8x8xui8>)
// CHECK:      dory.l3_start %weights[%{{.*}}], %weights_l2[%{{.*}}] {size = 72, length = 72, stride = 72, dir = "l3_to_l2", channel = "params_l3"}
// CHECK:      dory.l3_wait {channel = "params_l3"}
// CHECK-NEXT: dory.dma_start %weights_l2[%{{.*}}], %l1[%{{.*}}] {size = 72, length = 72, stride = 72, dir = "l2_to_l1", channel = "weights"}
// CHECK:      scf.for
// CHECK:      scf.if %has_next {
// CHECK-NEXT:   dory.l3_wait {channel = "params_l3"}
// CHECK:        dory.dma_start %weights_l2[%next_weights_chunk], %l1[%next_weights_l1]
// CHECK:        scf.if %next_has_next_chunk {
// CHECK:          dory.l3_start %weights[%next_weights_l3], %weights_l2[%next_weights_slot] {size = %next_weights_chunk_bytes
// CHECK:      func.func @main
// CHECK-NEXT:   dory.l1_arena
// CHECK-NEXT:   memref.get_global @layer0_conv_weights : memref<8x3x3x4xi8> {dory.l3}
// CHECK-NEXT:   memref.get_global @layer0_conv_k : memref<8xi32> {dory.l3}
// CHECK-NEXT:   memref.get_global @layer0_conv_lambda : memref<8xi32> {dory.l3}
// CHECK-NEXT:   memref.alloc() : memref<144xui8>
// CHECK-NEXT:   memref.alloc() : memref<16xui8>
// CHECK-NEXT:   memref.alloc() : memref<16xui8>

// -----

// Constants feeding L2 data ops (the QDQ importer's zero-point padding: a qnn.concat of the input
// with constant blocks) get an L2 buffer just before their first user. A block of equal elements is
// a memref.alloc set by dory.fill (one buffer for both uses, no data stored); other data is a
// read-only memref.global @constant<N>. A constant network output is filled in place (uniform) or
// copied from its global.
func.func @main(%x: tensor<1x2x3x4xui8>) -> (tensor<1x6x3x4xui8>, tensor<1x2x2xi8>, tensor<2xui8>) {
  %a = qnn.constant dense<211> : tensor<1x1x3x4xui8>
  %b = qnn.constant dense<[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]]> : tensor<2x3x4xui8>
  %r = qnn.reshape %b : (tensor<2x3x4xui8>) -> tensor<1x2x3x4xui8>
  %c = qnn.concat %a, %x, %a, %r {axis = 1 : i64} : (tensor<1x1x3x4xui8>, tensor<1x2x3x4xui8>, tensor<1x1x3x4xui8>, tensor<1x2x3x4xui8>) -> tensor<1x6x3x4xui8>
  %o = qnn.constant dense<-3> : tensor<1x2x2xi8>
  %p = qnn.constant dense<[1, 9]> : tensor<2xui8>
  func.return %c, %o, %p : tensor<1x6x3x4xui8>, tensor<1x2x2xi8>, tensor<2xui8>
}

// CHECK:      "memref.global"() <{sym_name = "constant0", type = memref<2x3x4xui8>, initial_value = dense<{{\[\[\[}}1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], {{.*}} : tensor<2x3x4xui8>, sym_visibility = "private", constant}>
// CHECK-NEXT: "memref.global"() <{sym_name = "constant1", type = memref<2xui8>, initial_value = dense<[1, 9]> : tensor<2xui8>
// CHECK-NOT:  "memref.global"
// CHECK:      func.func @main(%[[X:.*]]: memref<1x2x3x4xui8>, %[[OUT0:.*]]: memref<1x6x3x4xui8>, %[[OUT1:.*]]: memref<1x2x2xi8>, %[[OUT2:.*]]: memref<2xui8>) {
// CHECK-NEXT:   dory.l1_arena
// CHECK-NEXT:   %[[G:.*]] = memref.get_global @constant0 : memref<2x3x4xui8>
// CHECK-NEXT:   %[[R:.*]] = memref.alloc() : memref<1x2x3x4xui8>
// CHECK-NEXT:   dory.copy %[[G]], %[[R]] : memref<2x3x4xui8>, memref<1x2x3x4xui8>
// CHECK-NEXT:   %[[PAD:.*]] = memref.alloc() : memref<1x1x3x4xui8>
// CHECK-NEXT:   dory.fill %[[PAD]] {value = 211 : i64} : memref<1x1x3x4xui8>
// CHECK-NEXT:   dory.concat(%[[PAD]], %[[X]], %[[PAD]], %[[R]] : {{.*}}) into %[[OUT0]] {axis = 1 : i64}
// CHECK-NEXT:   dory.fill %[[OUT1]] {value = -3 : i64} : memref<1x2x2xi8>
// CHECK-NEXT:   %[[P:.*]] = memref.get_global @constant1 : memref<2xui8>
// CHECK-NEXT:   dory.copy %[[P]], %[[OUT2]] : memref<2xui8>, memref<2xui8>
// CHECK-NEXT:   func.return

// -----

// An activation in L3 (dory.l3 as qnn-l3-tile sets it): the conv's output goes to L3 right after its
// call (staging buffer in L2, blocking write), the pointwise reads it in windows of one row tile
// (2 rows = 128 B) through two L2 slots: it waits at the first tile of each row of tiles and reads
// the next row's window into the other slot.
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {dory.l3 = {weights = "whole", output_l3 = 1 : i64, l2 = 512 : i64}, dory.tiling = #dory.tiling<tile = [8, 1, 2], count = [1, 8, 4], l1 = 976, budget = 1000, double_buffer = true, objective = "cost", cycles = 8258, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x4xui8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xui8>
  %w2 = qnn.constant dense<1> : tensor<8x1x1x8xi8>
  %p = qnn.conv2d %c, %w2 scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {dory.l3 = {weights = "whole", inputs_l3 = array<i64: 1>, l2 = 320 : i64}, dory.tiling = #dory.tiling<tile = [2, 8, 8], count = [4, 1, 1], l1 = 640, budget = 1000, double_buffer = true, objective = "cost", cycles = 900, proved = true, solve_us = 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x8xui8>, tensor<8x1x1x8xi8> -> tensor<1x8x8x8xui8>
  func.return %p : tensor<1x8x8x8xui8>
}

// CHECK:      func.func @layer1_pointwise(%l1: memref<1000xi8>, %in: memref<1x8x8x8xui8>, %weights: memref<8x1x1x8xi8>, %k: memref<8xi32>, %lambda_: memref<8xi32>, %in_l2: memref<256xui8>, %out: memref<1x8x8x8xui8>)
// CHECK:      dory.l3_start %in[%{{.*}}], %in_l2[%{{.*}}] {size = 128, length = 128, stride = 128, dir = "l3_to_l2", channel = "in_l3"}
// CHECK:      dory.l3_wait {channel = "in_l3"}
// CHECK-NEXT: dory.dma_start %in_l2[%{{.*}}], %l1[%{{.*}}] {size = 128, length = 128, stride = 128, dir = "l2_to_l1", channel = "in"}
// CHECK:      scf.for
// CHECK:      dory.l3_wait {channel = "in_l3"}
// CHECK:      dory.dma_start %in_l2[%next_in_window_ext]
// CHECK:      scf.if %next_has_next_row {
// CHECK:        dory.l3_start %in[%{{.*}}], %in_l2[%{{.*}}] {size = 128, length = 128, stride = 128, dir = "l3_to_l2", channel = "in_l3"}
// CHECK:      func.func @main
// CHECK:        %[[STAGE:.*]] = memref.alloc() : memref<1x8x8x8xui8>
// CHECK-NEXT:   func.call @layer0_conv(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[STAGE]])
// CHECK-NEXT:   %[[L3:.*]] = memref.alloc() {dory.l3} : memref<1x8x8x8xui8>
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:   dory.l3_start %[[L3]][%[[ZERO]]], %[[STAGE]][%[[ZERO]]] {size = 512, length = 512, stride = 512, dir = "l2_to_l3", channel = "spill"}
// CHECK-NEXT:   dory.l3_wait {channel = "spill"}
// CHECK:        memref.alloc() : memref<256xui8>
// CHECK:        func.call @layer1_pointwise(%{{.*}}, %[[L3]],
