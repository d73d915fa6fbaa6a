// RUN: %roundtrip
// RUN: %generic-roundtrip

// L3 requests: parameters streamed from L3 into L2 chunk buffers.
func.func @f(%w: memref<64x1x1x64xi8>, %buf: memref<8192xui8>, %n: index) {
  %a = arith.constant 0 : index
  %b = arith.constant 4096 : index
  dory.l3_start %w[%a], %buf[%b] {size = 4096, length = 4096, stride = 4096, dir = "l3_to_l2", channel = "params_l3"} : memref<64x1x1x64xi8>, memref<8192xui8>
  dory.l3_start %w[%a], %buf[%a] {size = %n, length = 64, stride = 256, dir = "l3_to_l2", channel = "params_l3"} : memref<64x1x1x64xi8>, memref<8192xui8>
  dory.l3_wait {channel = "params_l3"}
  func.return
}

// CHECK:      dory.l3_start %w[%a], %buf[%b] {size = 4096, length = 4096, stride = 4096, dir = "l3_to_l2", channel = "params_l3"} : memref<64x1x1x64xi8>, memref<8192xui8>
// CHECK-NEXT: dory.l3_start %w[%a], %buf[%a] {size = %n, length = 64, stride = 256, dir = "l3_to_l2", channel = "params_l3"} : memref<64x1x1x64xi8>, memref<8192xui8>
// CHECK-NEXT: dory.l3_wait {channel = "params_l3"}

// CHECK-GENERIC: "dory.l3_start"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{
// CHECK-GENERIC: "dory.l3_wait"() <{channel = "params_l3"}> : () -> ()
