// RUN: %verify-diagnostics

func.func @f(%w: memref<4096xi8>, %buf: memref<8192xui8>, %a: index) {
  dory.l3_start %w[%a], %buf[%a] {size = 64, length = 64, stride = 64, dir = "l2_to_l1", channel = "p"} : memref<4096xi8>, memref<8192xui8>
  func.return
}
// expected-error @-3 {{dory.l3_start: dir must be one of ('l3_to_l2', 'l2_to_l3'), got "l2_to_l1"}}

// -----

func.func @f(%w: memref<4096xi8>, %buf: memref<8192xui8>, %a: index) {
  dory.l3_start %w[%a], %buf[%a] {size = 100, length = 64, stride = 64, dir = "l3_to_l2", channel = "p"} : memref<4096xi8>, memref<8192xui8>
  func.return
}
// expected-error @-3 {{dory.l3_start: size 100 is not a multiple of the line 64}}

// -----

func.func @f(%w: memref<4096xi8>, %buf: memref<8192xui8>, %a: index) {
  dory.l3_start %w[%a], %buf[%a] {size = 128, length = 64, stride = 32, dir = "l3_to_l2", channel = "p"} : memref<4096xi8>, memref<8192xui8>
  func.return
}
// expected-error @-3 {{dory.l3_start: 2-D stride 32 is smaller than the line 64}}
