// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=1400},convert-qnn-to-dory' -t gap8-c | filecheck %s
// RUN: dory-opt %s -p 'qnn-tile,convert-qnn-to-dory' -t gap8-c | filecheck %s --check-prefix=WHOLE
// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=1200},convert-qnn-to-dory' -t gap8-c | filecheck %s --check-prefix=COLS

// 3x3 conv 8x8x4 -> 8x8x8 tiled into 4 channel tiles of 2 (see qnn-tile.mlir), printed as one C
// loop: weights, k and lambda of the next tile are fetched before the current kernel call, the
// output tile goes out with a 2-D DMA (64 pixels x 2 channels: lines of 2 B, 8 B apart in L2).
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x3x3x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x8x8x4xui8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xui8>
  func.return %c : tensor<1x8x8x8xui8>
}

// CHECK: // ===== Makefile =====
// CHECK: PULP_NN_VARIANT = 32bit
// CHECK: APP_SRCS = main.c network.c input.c $(wildcard $(PULP_NN_VARIANT_DIR)/src/*.c)
// CHECK: APP_CFLAGS += -DNUM_CORES=8
// CHECK-NOT: PULP_NN_REQUANT_64
// CHECK: APP_SRCS += weights.c
// CHECK: READFS_FILES := weights.bin
// CHECK: // ===== network.c =====
// CHECK: define DORY_DMA_COUNTERS 5
// CHECK: static pi_cl_dma_cmd_t dory_dma_cmds[DORY_DMA_COUNTERS]
// CHECK: /* layer 0: pulp_nn_conv_Ho_parallel, tiles [8, 8, 2] x [1, 1, 4], L1 1264 of 1400 B */
// CHECK-NEXT: static void layer0_conv(void *arg) {
// Each DMA channel issues into a ring of command structs taken from one static array (no command
// arrays on the cluster stacks); one command per copy here, so one struct per channel.
// CHECK: struct dory_dma_queue dma_weights = {dory_dma_cmds + 0, 1, 0, 0};
// CHECK-NEXT: struct dory_dma_queue dma_k = {dory_dma_cmds + 1, 1, 0, 0};
// CHECK-NEXT: struct dory_dma_queue dma_lambda = {dory_dma_cmds + 2, 1, 0, 0};
// CHECK-NEXT: struct dory_dma_queue dma_in = {dory_dma_cmds + 3, 1, 0, 0};
// CHECK-NEXT: struct dory_dma_queue dma_out = {dory_dma_cmds + 4, 1, 0, 0};
// CHECK: if (core == 0) {
// CHECK-NEXT: pi_cl_dma_cmd((uint32_t)(uintptr_t)(weights + 0), (uint32_t)(uintptr_t)(l1 + 512), 72, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_weights));
// CHECK-NEXT: pi_cl_dma_cmd((uint32_t)(uintptr_t)(k + 0), (uint32_t)(uintptr_t)(l1 + 656), 8, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_k));
// CHECK-NEXT: pi_cl_dma_cmd((uint32_t)(uintptr_t)(lambda_ + 0), (uint32_t)(uintptr_t)(l1 + 672), 8, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_lambda));
// CHECK-NEXT: pi_cl_dma_cmd((uint32_t)(uintptr_t)(in + 0), (uint32_t)(uintptr_t)(l1 + 0), 256, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_in));
// CHECK-NEXT: }
// One loop over the 4 tiles; every core computes the tile's index arithmetic (C expressions).
// CHECK-NEXT: for (int t = 0; t < 4; t++) {
// CHECK-NEXT: const int t_next = t + 1;
// CHECK-NEXT: const int has_next = t_next < 4;
// CHECK-NEXT: const int c_slot = t % 2;
// CHECK-NEXT: const int [[O:v[0-9]+]] = c_slot * 128;
// CHECK-NEXT: const int out_l1 = [[O]] + 256;
// CHECK: const int c_out = t * 2;
// Core 0 waits for this tile's data and starts the next channel tile's weights, k and lambda.
// CHECK-NEXT: if (core == 0) {
// CHECK-NEXT: dory_dma_wait(&dma_in);
// CHECK: if (has_next) {
// CHECK-NEXT: const int next_weights_ext = t_next * 72;
// CHECK-NEXT: const int next_c_slot = t_next % 2;
// CHECK: pi_cl_dma_cmd((uint32_t)(uintptr_t)(weights + next_weights_ext), (uint32_t)(uintptr_t)(l1 + next_weights_l1), 72, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_weights));
// CHECK: pi_cl_team_barrier(0);
// CHECK-NEXT: pulp_nn_conv_Ho_parallel((uint8_t *)(l1 + 0), (uint8_t *)(l1 + 688), NULL, (uint8_t *)(l1 + out_l1), (int8_t *)(l1 + weights_l1), (int32_t *)(l1 + k_l1), (int32_t *)(l1 + lambda_l1), 1, 5, 8, 8, 4, 8, 8, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
// CHECK-NEXT: pi_cl_team_barrier(0);
// CHECK-NEXT: if (core == 0) {
// CHECK-NEXT: dory_dma_wait(&dma_out);
// CHECK-NEXT: pi_cl_dma_cmd_2d((uint32_t)(uintptr_t)(out + c_out), (uint32_t)(uintptr_t)(l1 + out_l1), 128, 8, 2, PI_CL_DMA_DIR_LOC2EXT, dory_dma_next(&dma_out));
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: if (core == 0) {
// CHECK-NEXT: dory_dma_wait(&dma_out);
// CHECK-NOT: pulp_nn_conv_Ho_parallel(
// CHECK: void network_run_cluster(void *arg)
// CHECK: uint8_t *l1 = (uint8_t *)pi_cl_l1_malloc(NULL, 1400);
// CHECK: dory_l3_read(net, 0, par{{[0-9]+}}, 288); /* layer0_conv_weights */
// CHECK: dory_host_layer(0, "layer0_conv");
// CHECK: pi_cl_team_fork(NUM_CORES, layer0_conv, &args);
// CHECK: errors += dory_check_layer(0, output0, 512, 0, 0u);
// CHECK: // ===== weights.bin ===== 352 bytes

// The whole layer fits the default budget: one kernel call, no prefetch.
// WHOLE: tiles [8, 8, 8] x [1, 1, 1], L1 1696 of 36700 B
// WHOLE-COUNT-1: pulp_nn_conv_Ho_parallel(
// WHOLE-NOT: pulp_nn_conv_Ho_parallel(
// WHOLE: pi_cl_l1_malloc(NULL, 36700)

// At 1200 B: 2 column tiles x 4 channel tiles, one loop of 8. The left/right padding of a column
// tile is computed (1 on the left of tile 0, 1 on the right of tile 1), the next channel tile's
// parameters are fetched only when t+1 starts one, and the output tile goes out row by row.
// COLS: tiles [8, 4, 2] x [1, 2, 4]
// COLS: for (int t = 0; t < 8; t++) {
// COLS: const int tile_w = t % 2;
// COLS-NEXT: const int w_out = tile_w * 4;
// COLS-NEXT: const int [[L:v[0-9]+]] = 1 - w_out;
// COLS-NEXT: const int w_pad_lo = [[L]] > 0 ? [[L]] : 0;
// COLS-NEXT: const int [[R:v[0-9]+]] = w_out - 3;
// COLS-NEXT: const int w_pad_hi = [[R]] > 0 ? [[R]] : 0;
// COLS: const int tile_c = t / 2;
// COLS: if (has_next) {
// COLS: const int next_w_in = [[W:v[0-9]+]] > 0 ? [[W]] : 0;
// COLS: pi_cl_dma_cmd_2d((uint32_t)(uintptr_t)(in + next_in_ext), (uint32_t)(uintptr_t)(l1 + next_in_l1), 160, 32, 20, PI_CL_DMA_DIR_EXT2LOC, dory_dma_next(&dma_in));
// COLS-NEXT: if (next_starts_c_tile) {
// COLS: pi_cl_dma_cmd((uint32_t)(uintptr_t)(weights + next_weights_ext), (uint32_t)(uintptr_t)(l1 + next_weights_l1), 72, PI_CL_DMA_DIR_EXT2LOC
// COLS: pulp_nn_conv_Ho_parallel((uint8_t *)(l1 + in_l1), (uint8_t *)(l1 + 624), NULL, (uint8_t *)(l1 + out_l1), (int8_t *)(l1 + weights_l1), (int32_t *)(l1 + k_l1), (int32_t *)(l1 + lambda_l1), 1, 5, 5, 8, 4, 4, 8, 2, 3, 3, 1, 1, w_pad_lo, w_pad_hi, 1, 1, 1, 1);
// COLS: for (int i = 0; i < 8; i++) {
// COLS: pi_cl_dma_cmd_2d((uint32_t)(uintptr_t)(out + {{v[0-9]+}}), (uint32_t)(uintptr_t)(l1 + {{v[0-9]+}}), 8, 8, 2, PI_CL_DMA_DIR_LOC2EXT, dory_dma_next(&dma_out));
// COLS-NOT: pulp_nn_conv_Ho_parallel(
