// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=300},convert-qnn-to-dory' | filecheck %s --check-prefix=IR
// RUN: dory-opt %s -p 'qnn-tile{l1-bytes=300},convert-qnn-to-dory' -t gap8-c | filecheck %s

// A TFLite-style residual add (input offsets, multipliers ~4e6): no pulp_nn_add form, so each tile
// calls the generated C helper dory_add_requant with the nine qnn.add parameters (multipliers and
// offsets wrapped to int32: 2^32 + 5 is 5). The tiling, DMA and L1 placement are pulp_nn_add's:
// 3 channel tiles, double-buffered inputs and output.
func.func @main(%x: tensor<1x4x4x8xui8>, %y: tensor<1x4x4x8xui8>) -> tensor<1x4x4x8xui8> {
  %s = qnn.add %x, %y {mul_a = 4194304, add_a = -1073741824, shift_a = 20, mul_b = 4294967301, add_b = 12345, shift_b = 21, shift = 1, lo = 3, hi = 250} : (tensor<1x4x4x8xui8>, tensor<1x4x4x8xui8>) -> tensor<1x4x4x8xui8>
  func.return %s : tensor<1x4x4x8xui8>
}

// IR:      func.func @layer0_add(%l1: memref<300xi8>, %in: memref<1x4x4x8xui8>, %in2: memref<1x4x4x8xui8>, %out: memref<1x4x4x8xui8>)
// IR-SAME: dory.kernel = "dory_add_requant"
// IR-SAME: dory.l1_buffers = {in = array<i64: 48, 0, 48>, in2 = array<i64: 48, 96, 144>, out = array<i64: 48, 192, 240>}
// IR:      scf.for %t = %{{.*}} to %{{.*}} step %{{.*}} {
// IR:        dory.add_requant %l1 (in1 = %in_l1, in2 = %in2_l1, out = %out_l1) {mul_a = 4194304, add_a = -1073741824, shift_a = 20, mul_b = 5, add_b = 12345, shift_b = 21, shift = 1, lo = 3, hi = 250, dim_im_in_h = 4, dim_im_in_w = 4, ch_im_in = %c_size} : memref<300xi8>
// IR-NOT:  dory.add %l1

// The helper is defined once in network.c: uint32 arithmetic (no signed overflow), arithmetic
// shifts, each core a contiguous chunk of the tile.
// CHECK:      // ===== network.c =====
// CHECK:      static inline void dory_add_requant(const uint8_t *in1, const uint8_t *in2, uint8_t *out,
// CHECK:          const uint32_t start = (uint32_t)pi_core_id() * chunk;
// CHECK:          int32_t a = dory_sra32((uint32_t)in1[i] * (uint32_t)mul_a + (uint32_t)add_a, shift_a);
// CHECK:      /* layer 0: dory_add_requant, tiles [4, 4, 3] x [1, 1, 3], L1 288 of 300 B */
// CHECK:      for (int t = 0; t < 3; t++) {
// CHECK:          pi_cl_team_barrier(0);
// CHECK-NEXT:     dory_add_requant((uint8_t *)(l1 + in_l1), (uint8_t *)(l1 + in2_l1), (uint8_t *)(l1 + out_l1), 4194304, -1073741824, 20, 5, 12345, 21, 1, 3, 250, 4, 4, c_size);
// CHECK-NEXT:     pi_cl_team_barrier(0);
// CHECK-NOT:  pulp_nn_add(
