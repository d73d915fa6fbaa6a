// RUN: %verify-diagnostics

func.func @f(%a: memref<4xui8>) {
  dory.fill %a {value = 256 : i64} : memref<4xui8>
  func.return
}
// expected-error @-3 {{dory.fill: value 256 does not fit ui8}}

// -----

func.func @f(%a: memref<4xi8>) {
  dory.fill %a {value = -129 : i64} : memref<4xi8>
  func.return
}
// expected-error @-3 {{dory.fill: value -129 does not fit i8}}

// -----

func.func @f(%a: memref<4xf32>) {
  dory.fill %a {value = 0 : i64} : memref<4xf32>
  func.return
}
// expected-error @-3 {{dory.fill: memref<4xf32> is not a memref of integers}}
