// RUN: %roundtrip
// RUN: %generic-roundtrip

func.func @f(%a: memref<1x1x4x10xui8>, %b: memref<4xi8>, %c: memref<2xi32>) {
  dory.fill %a {value = 211 : i64} : memref<1x1x4x10xui8>
  dory.fill %b {value = -128 : i64} : memref<4xi8>
  dory.fill %c {value = -70000 : i64} : memref<2xi32>
  func.return
}

// CHECK:      dory.fill %a {value = 211 : i64} : memref<1x1x4x10xui8>
// CHECK-NEXT: dory.fill %b {value = -128 : i64} : memref<4xi8>
// CHECK-NEXT: dory.fill %c {value = -70000 : i64} : memref<2xi32>

// CHECK-GENERIC: "dory.fill"(%{{.*}}) <{value = 211 : i64}> : (memref<1x1x4x10xui8>) -> ()
