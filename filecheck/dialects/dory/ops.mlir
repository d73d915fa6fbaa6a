// RUN: %roundtrip
// RUN: %generic-roundtrip

func.func @f(%l1: memref<1024xi8>, %x: memref<1x4x4x8xui8>, %n: index, %rows: index) attributes {t = #dory.tiling<tile = [2, 4, 8], count = [2, 1, 1], l1 = 500, budget = 1024, double_buffer = true, objective = "cost", cycles = 100, proved = false, solve_us = 12>} {
  %a = arith.constant 0 : index
  %b = arith.constant 128 : index
  dory.dma_start %x[%a], %l1[%b] {size = 64, length = 32, stride = 32, dir = "l2_to_l1", channel = "in"} : memref<1x4x4x8xui8>, memref<1024xi8>
  dory.dma_start %x[%a], %l1[%b] {size = %n, length = 32, stride = 64, dir = "l2_to_l1", channel = "in"} : memref<1x4x4x8xui8>, memref<1024xi8>
  dory.dma_start %x[%a], %l1[%b] {size = %n, length = %n, stride = %n, dir = "l1_to_l2", channel = "out"} : memref<1x4x4x8xui8>, memref<1024xi8>
  dory.dma_wait {channel = "in"}
  dory.zero %l1[%a] {size = 16} : memref<1024xi8>
  dory.zero %l1[%a] {size = %n} : memref<1024xi8>
  dory.conv %l1 (in = %a, im2col = %b, out = %a, weights = %b, k = %a, lambda = %b) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 4, dim_out_y = 4, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 1, requant_bits = 64} : memref<1024xi8>
  dory.conv %l1 (in = %a, im2col = %b, out = %a, weights = %b) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = %rows, ch_in = 8, dim_out_x = 4, dim_out_y = %n, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = %a, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 0, flag_batch_norm = 0, requant_bits = 32} : memref<1024xi8>
  dory.linear_out_32 %l1 (in = %a, out = %b, weights = %a) {dim_vec = 8, num_o_neurons = 2} : memref<1024xi8>
  dory.maxpool %l1 (in = %a, out = %b) {dim_im_in_x = 4, dim_im_in_y = 4, ch_im_in = 8, dim_im_out_x = 2, dim_im_out_y = 2, dim_kernel_x = 2, dim_kernel_y = 2, padding_t = 0, padding_b = 0, padding_l = 0, padding_r = 0, stride_x = 2, stride_y = 2} : memref<1024xi8>
  func.return
}

// CHECK:      #dory.tiling<tile = [2, 4, 8], count = [2, 1, 1], l1 = 500, budget = 1024, double_buffer = true, objective = "cost", cycles = 100, proved = false, solve_us = 12>
// CHECK:      dory.dma_start %x[%a], %l1[%b] {size = 64, length = 32, stride = 32, dir = "l2_to_l1", channel = "in"} : memref<1x4x4x8xui8>, memref<1024xi8>
// CHECK-NEXT: dory.dma_start %x[%a], %l1[%b] {size = %n, length = 32, stride = 64, dir = "l2_to_l1", channel = "in"} : memref<1x4x4x8xui8>, memref<1024xi8>
// CHECK-NEXT: dory.dma_start %x[%a], %l1[%b] {size = %n, length = %n, stride = %n, dir = "l1_to_l2", channel = "out"} : memref<1x4x4x8xui8>, memref<1024xi8>
// CHECK-NEXT: dory.dma_wait {channel = "in"}
// CHECK-NEXT: dory.zero %l1[%a] {size = 16} : memref<1024xi8>
// CHECK-NEXT: dory.zero %l1[%a] {size = %n} : memref<1024xi8>
// CHECK-NEXT: dory.conv %l1 (in = %a, im2col = %b, out = %a, weights = %b, k = %a, lambda = %b) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 4, dim_out_y = 4, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 1, requant_bits = 64} : memref<1024xi8>
// CHECK-NEXT: dory.conv %l1 (in = %a, im2col = %b, out = %a, weights = %b) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = %rows, ch_in = 8, dim_out_x = 4, dim_out_y = %n, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = %a, padding_y_bottom = 1,
// CHECK-NEXT: dory.linear_out_32 %l1 (in = %a, out = %b, weights = %a) {dim_vec = 8, num_o_neurons = 2} : memref<1024xi8>
// CHECK-NEXT: dory.maxpool %l1 (in = %a, out = %b)

// Static parameters are i64 properties; dynamic ones are the trailing `index` operands, named in order by dynamic_params.
// CHECK-GENERIC: "dory.dma_start"(%x, %a, %l1, %b) <{size = 64 : i64, length = 32 : i64, stride = 32 : i64, dir = "l2_to_l1", channel = "in"}>
// CHECK-GENERIC: "dory.dma_start"(%x, %a, %l1, %b, %n) <{length = 32 : i64, stride = 64 : i64, dynamic_params = ["size"], dir = "l2_to_l1", channel = "in"}>
// CHECK-GENERIC: "dory.dma_start"(%x, %a, %l1, %b, %n, %n, %n) <{dynamic_params = ["size", "length", "stride"], dir = "l1_to_l2", channel = "out"}>
// CHECK-GENERIC: "dory.zero"(%l1, %a, %n) <{dynamic_params = ["size"]}>
// CHECK-GENERIC: "dory.conv"(%a, %b, %a, %b, %a, %b, %l1) <{
// CHECK-GENERIC: "dory.conv"(%a, %b, %a, %b, %l1, %rows, %n, %a) <{{.*}}dynamic_params = ["dim_in_y", "dim_out_y", "padding_y_top"]
