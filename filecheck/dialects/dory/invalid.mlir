// RUN: %verify-diagnostics

func.func @f(%l1: memref<1024xi8>, %x: memref<100000xui8>, %a: index) {
  dory.dma_start %x[%a], %l1[%a] {size = 70000, length = 70000, stride = 70000, dir = "l2_to_l1", channel = "in"} : memref<100000xui8>, memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.dma_start: size 70000 is not in [1, 65535]}}

// -----

func.func @f(%l1: memref<1024xi8>, %x: memref<100000xui8>, %a: index) {
  dory.dma_start %x[%a], %l1[%a] {size = 200, length = 100, stride = 40000, dir = "l2_to_l1", channel = "in"} : memref<100000xui8>, memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.dma_start: 2-D line 100 and stride 40000 must be in [1, 32767]}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.pointwise %l1 (in = %a, out = %a, weights = %a) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 2, dim_out_y = 2, ch_out = 8, dim_kernel_x = 1, dim_kernel_y = 1, padding_y_top = 0, padding_y_bottom = 0, padding_x_left = 0, padding_x_right = 0, stride_x = 2, stride_y = 2, flag_relu = 0, flag_batch_norm = 0, requant_bits = 32} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.pointwise: the pointwise kernel needs a 1x1 kernel, stride 1 and no padding}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.depthwise %l1 (in = %a, bufferC = %a, out = %a, weights = %a, k = %a, lambda = %a) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 2, dim_out_y = 2, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 0, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 2, stride_y = 2, flag_relu = 1, flag_batch_norm = 1, requant_bits = 32} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.depthwise: depthwise padding (padding_y_top = 0, padding_y_bottom = 1) must be zero or symmetric kernel/2}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.conv %l1 (in = %a, im2col = %a, out = %a, weights = %a) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 5, dim_out_y = 4, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = 1, flag_batch_norm = 0, requant_bits = 32} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.conv: 5 outputs along x do not fit the padded input 4+1+1 with kernel 3, stride 1}}

// -----

func.func @f() attributes {t = #dory.tiling<tile = [2, 4, 8], count = [2, 1, 1], l1 = 5000, budget = 1024, double_buffer = true, objective = "cost", cycles = 100, proved = true, solve_us = 12>} {
  func.return
}
// expected-error @-3 {{tiling uses 5000 B of L1, more than the 1024 B budget}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.conv %l1 (in = %a, im2col = %a, out = %a, weights = %a) {out_mult = 1, out_shift = 5, dim_in_x = 4, dim_in_y = 4, ch_in = 8, dim_out_x = 4, dim_out_y = 4, ch_out = 8, dim_kernel_x = 3, dim_kernel_y = 3, padding_y_top = 1, padding_y_bottom = 1, padding_x_left = 1, padding_x_right = 1, stride_x = 1, stride_y = 1, flag_relu = %a, flag_batch_norm = 0, requant_bits = 32} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.conv: flag_relu must be a constant}}

// -----

func.func @f(%l1: memref<1024xi8>, %x: memref<100000xui8>, %a: index) {
  dory.dma_start %x[%a], %l1[%a] {size = %a, length = 100, stride = 40000, dir = "l2_to_l1", channel = "in"} : memref<100000xui8>, memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.dma_start: 2-D line 100 and stride 40000 must be in [1, 32767]}}
