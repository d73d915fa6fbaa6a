// RUN: dory-opt %s --split-input-file --verify-diagnostics | filecheck %s

// dory.add_requant (the generated C helper for adds pulp_nn_add cannot compute): int32 multipliers
// and offsets (negative ones too), per-tile dimensions as index operands.
func.func @f(%l1: memref<1024xi8>, %a: index, %b: index, %rows: index) {
  dory.add_requant %l1 (in1 = %a, in2 = %b, out = %a) {mul_a = 4194304, add_a = -2147483648, shift_a = 31, mul_b = -7, add_b = 2147483647, shift_b = 0, shift = 2, lo = 3, hi = 250, dim_im_in_h = %rows, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>
  func.return
}
// CHECK:      dory.add_requant %l1 (in1 = %a, in2 = %b, out = %a) {mul_a = 4194304, add_a = -2147483648, shift_a = 31, mul_b = -7, add_b = 2147483647, shift_b = 0, shift = 2, lo = 3, hi = 250, dim_im_in_h = %rows, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.add_requant %l1 (in1 = %a, in2 = %a, out = %a) {mul_a = 1, add_a = 0, shift_a = 32, mul_b = 1, add_b = 0, shift_b = 0, shift = 0, lo = 0, hi = 255, dim_im_in_h = 2, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.add_requant: shift_a 32 is not in [0, 31]}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.add_requant %l1 (in1 = %a, in2 = %a, out = %a) {mul_a = 1, add_a = 0, shift_a = 0, mul_b = 1, add_b = 0, shift_b = 0, shift = 0, lo = -1, hi = 255, dim_im_in_h = 2, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.add_requant: clip [-1, 255] is not a non-empty range within [0, 255]}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.add_requant %l1 (in1 = %a, in2 = %a, out = %a) {mul_a = 2147483648, add_a = 0, shift_a = 0, mul_b = 1, add_b = 0, shift_b = 0, shift = 0, lo = 0, hi = 255, dim_im_in_h = 2, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.add_requant: mul_a = 2147483648 does not fit its C type}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index, %s: index) {
  dory.add_requant %l1 (in1 = %a, in2 = %a, out = %a) {mul_a = 1, add_a = 0, shift_a = %s, mul_b = 1, add_b = 0, shift_b = 0, shift = 0, lo = 0, hi = 255, dim_im_in_h = 2, dim_im_in_w = 4, ch_im_in = 8} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.add_requant: shift_a must be a constant}}
