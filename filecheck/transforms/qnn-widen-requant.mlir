// RUN: dory-opt %s -p qnn-widen-requant | filecheck %s
// RUN: dory-opt %s -p 'qnn-widen-requant{bits=64}' | filecheck %s --check-prefix=ALL
// RUN: not dory-opt %s -p 'qnn-widen-requant{bits=32}' 2>&1 | filecheck %s --check-prefix=NARROW

// Layer %a has i32 constants and layer %b i64: %a is widened (its 32-bit arithmetic cannot wrap:
// |k*acc + lambda| <= 4*(4*255) + 8 for a 1x1 conv of 4 channels with weights 1).
func.func @main(%x: tensor<1x2x2x4xui8>) -> tensor<1x2x2x4xui8> {
  %w = qnn.constant dense<1> : tensor<4x1x1x4xi8>
  %k = qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
  %l = qnn.constant dense<[8, 7, 6, 5]> : tensor<4xi32>
  %a = qnn.conv2d %x, %w scale(%k, %l : tensor<4xi32>, tensor<4xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 2, clip = [0, 255]>} : tensor<1x2x2x4xui8>, tensor<4x1x1x4xi8> -> tensor<1x2x2x4xui8>
  %k2 = qnn.constant dense<[1, 1, 1, 1]> : tensor<4xi64>
  %l2 = qnn.constant dense<[0, 0, 0, 0]> : tensor<4xi64>
  %b = qnn.conv2d %a, %w scale(%k2, %l2 : tensor<4xi64>, tensor<4xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc", requant = #qnn.requant<shift = 2, clip = [0, 255]>} : tensor<1x2x2x4xui8>, tensor<4x1x1x4xi8> -> tensor<1x2x2x4xui8>
  func.return %b : tensor<1x2x2x4xui8>
}

// CHECK: qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
// CHECK-NEXT: qnn.constant dense<[8, 7, 6, 5]> : tensor<4xi64>
// CHECK-NEXT: qnn.conv2d %x, %w scale(%{{.*}}, %{{.*}} : tensor<4xi64>, tensor<4xi64>)
// CHECK-NOT: tensor<4xi32>

// ALL-NOT: tensor<4xi32>

// NARROW: some layers need 64-bit requant constants (bits=32 given)
