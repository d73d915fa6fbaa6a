// RUN: %verify-diagnostics

// dory.hwc_to_chw (the generated C helper that transposes a fetched depthwise input tile in L1):
// per-tile sizes as index operands.
func.func @f(%l1: memref<1024xi8>, %a: index, %b: index, %rows: index, %top: index) {
  dory.hwc_to_chw %l1 (in = %a, out = %b) {rows = %rows, cols = 5, chans = 4, top = %top, left = 1, dst_rows = 7, dst_cols = 7} : memref<1024xi8>
  func.return
}
// CHECK:      dory.hwc_to_chw %l1 (in = %a, out = %b) {rows = %rows, cols = 5, chans = 4, top = %top, left = 1, dst_rows = 7, dst_cols = 7} : memref<1024xi8>

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.hwc_to_chw %l1 (in = %a, out = %a) {rows = 6, cols = 5, chans = 4, top = 1, left = 1, dst_rows = 7, dst_cols = 5} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.hwc_to_chw: cols 5 at left 1 overflow dst_cols 5}}

// -----

func.func @f(%l1: memref<1024xi8>, %a: index) {
  dory.hwc_to_chw %l1 (in = %a, out = %a) {rows = 6, cols = 5, chans = 4, top = -1, left = 0, dst_rows = 7, dst_cols = 5} : memref<1024xi8>
  func.return
}
// expected-error @-3 {{dory.hwc_to_chw: top = -1 does not fit its C type}}
