// RUN: dory-opt %s --split-input-file -p qnn-legalize-pulp | filecheck %s

// Per-tensor requant without offset: pulp_nn_add(x, x, 53, 0, 7) computes it exactly.
func.func @main(%x: tensor<1x2x3x4xui8>) -> tensor<1x2x3x4xui8> {
  %k = qnn.constant dense<53> : tensor<1xi32>
  %l = qnn.constant dense<0> : tensor<1xi32>
  %r = qnn.requant %x, %k, %l {requant = #qnn.requant<shift = 7, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x3x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x3x4xui8>
  func.return %r : tensor<1x2x3x4xui8>
}

// CHECK:       builtin.module attributes {qnn.dory_layers = array<i64: -1>} {
// CHECK-LABEL: func.func @main
// CHECK-NOT:     qnn.constant
// CHECK:         [[R:%.*]] = qnn.add %x, %x {qnn.legalized = "input", mul_a = 53 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 0 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 7 : i64, lo = 0 : i64, hi = 255 : i64}
// CHECK-NEXT:    func.return [[R]]

// -----

// Rounding offset (no pulp_nn_add form): a depthwise 1x1 conv with weight 1 and [C] constants.
func.func @main(%x: tensor<1x2x3x4xui8>) -> tensor<1x2x3x4xui8> {
  %k = qnn.constant dense<53> : tensor<1xi32>
  %l = qnn.constant dense<64> : tensor<1xi32>
  %r = qnn.requant %x, %k, %l {requant = #qnn.requant<shift = 7, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x3x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x3x4xui8>
  func.return %r : tensor<1x2x3x4xui8>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    [[W:%.*]] = qnn.constant dense<1> : tensor<4x1x1x1xi8>
// CHECK-NEXT:    [[K:%.*]] = qnn.constant dense<53> : tensor<4xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<64> : tensor<4xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.conv2d %x, [[W]] scale([[K]], [[L]] : tensor<4xi32>, tensor<4xi32>) {qnn.legalized = "input", strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nhwc", requant = #qnn.requant<shift = 7, clip = [0, 255]>}
// CHECK-NEXT:    func.return [[R]]

// -----

// Per channel (i64): depthwise 1x1 with the requant's own constants.
func.func @main(%x: tensor<1x2x3x2xui8>) -> tensor<1x2x3x2xui8> {
  %k = qnn.constant dense<[3, -5]> : tensor<2xi64>
  %l = qnn.constant dense<[100, 2000]> : tensor<2xi64>
  %r = qnn.requant %x, %k, %l {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x3x2xui8>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x2x3x2xui8>
  func.return %r : tensor<1x2x3x2xui8>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    [[W:%.*]] = qnn.constant dense<1> : tensor<2x1x1x1xi8>
// CHECK-NEXT:    [[K:%.*]] = qnn.constant dense<[3, -5]> : tensor<2xi64>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<[100, 2000]> : tensor<2xi64>
// CHECK-NEXT:    [[R:%.*]] = qnn.conv2d %x, [[W]] scale([[K]], [[L]] : tensor<2xi64>, tensor<2xi64>) {{{.*}}group = 2 : i64, layout = "nhwc", requant = #qnn.requant<shift = 2, clip = [0, 255]>}
// CHECK-NEXT:    func.return [[R]]

// -----

// Left alone: a clip [0, 100] that bites (the kernels clip to [0, 255]), a per-channel requant
// along W, and an i32 input.
func.func @main(%x: tensor<1x2x3x2xui8>, %y: tensor<1x2x3x2xi32>) -> (tensor<1x2x3x2xui8>, tensor<1x2x3x2xui8>, tensor<1x2x3x2xui8>) {
  %k = qnn.constant dense<3> : tensor<1xi32>
  %l = qnn.constant dense<0> : tensor<1xi32>
  %k3 = qnn.constant dense<[1, 2, 3]> : tensor<3xi32>
  %l3 = qnn.constant dense<0> : tensor<3xi32>
  %a = qnn.requant %x, %k, %l {requant = #qnn.requant<shift = 0, clip = [0, 100]>, axis = 3 : i64} : (tensor<1x2x3x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x3x2xui8>
  %b = qnn.requant %x, %k3, %l3 {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 2 : i64} : (tensor<1x2x3x2xui8>, tensor<3xi32>, tensor<3xi32>) -> tensor<1x2x3x2xui8>
  %c = qnn.requant %y, %k, %l {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x3x2xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x3x2xui8>
  func.return %a, %b, %c : tensor<1x2x3x2xui8>, tensor<1x2x3x2xui8>, tensor<1x2x3x2xui8>
}

// CHECK:       builtin.module {
// CHECK-LABEL: func.func @main
// CHECK:         %a = qnn.requant %x, %k, %l
// CHECK-NEXT:    %b = qnn.requant %x, %k3, %l3
// CHECK-NEXT:    %c = qnn.requant %y, %k, %l
// CHECK-NOT:     qnn.conv2d
// CHECK-NOT:     qnn.add

// -----

// Quantlab's requantizing add (offsets on both inputs): each input requantized by a depthwise
// 1x1 conv, then a plain add.
func.func @main(%a: tensor<1x2x2x3xui8>, %b: tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8> {
  %s = qnn.add %a, %b {mul_a = 245015 : i64, add_a = 262144 : i64, shift_a = 19 : i64, mul_b = 132671 : i64, add_b = 131072 : i64, shift_b = 18 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x2x2x3xui8>, tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8>
  func.return %s : tensor<1x2x2x3xui8>
}

// CHECK:       builtin.module attributes {qnn.dory_layers = array<i64: -1, -1, 0>} {
// CHECK-LABEL: func.func @main
// CHECK:         [[K1:%.*]] = qnn.constant dense<245015> : tensor<3xi32>
// CHECK-NEXT:    [[L1:%.*]] = qnn.constant dense<262144> : tensor<3xi32>
// CHECK-NEXT:    [[A:%.*]] = qnn.conv2d %a, %{{.*}} scale([[K1]], [[L1]] : tensor<3xi32>, tensor<3xi32>) {qnn.legalized = "input", {{.*}}group = 3 : i64, layout = "nhwc", requant = #qnn.requant<shift = 19, clip = [0, 255]>}
// CHECK:         [[K2:%.*]] = qnn.constant dense<132671> : tensor<3xi32>
// CHECK-NEXT:    [[L2:%.*]] = qnn.constant dense<131072> : tensor<3xi32>
// CHECK-NEXT:    [[B:%.*]] = qnn.conv2d %b, %{{.*}} scale([[K2]], [[L2]] : tensor<3xi32>, tensor<3xi32>) {qnn.legalized = "input", {{.*}}requant = #qnn.requant<shift = 18, clip = [0, 255]>}
// CHECK-NEXT:    [[S:%.*]] = qnn.add [[A]], [[B]] {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64}
// CHECK-NEXT:    func.return [[S]]

// -----

// An offset on one input only: the other input stays raw with its multiplier.
func.func @main(%a: tensor<1x2x2x3xui8>, %b: tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8> {
  %s = qnn.add %a, %b {mul_a = 3 : i64, add_a = 0 : i64, shift_a = 2 : i64, mul_b = 5 : i64, add_b = 7 : i64, shift_b = 3 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x2x2x3xui8>, tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8>
  func.return %s : tensor<1x2x2x3xui8>
}

// CHECK:       builtin.module attributes {qnn.dory_layers = array<i64: -1, 0>} {
// CHECK-LABEL: func.func @main
// CHECK:         [[K:%.*]] = qnn.constant dense<5> : tensor<3xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<7> : tensor<3xi32>
// CHECK-NEXT:    [[B:%.*]] = qnn.conv2d %b, %{{.*}} scale([[K]], [[L]] : tensor<3xi32>, tensor<3xi32>) {qnn.legalized = "input", {{.*}}requant = #qnn.requant<shift = 3, clip = [0, 255]>}
// CHECK-NEXT:    [[S:%.*]] = qnn.add %a, [[B]] {mul_a = 3 : i64, add_a = 0 : i64, shift_a = 2 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64}
// CHECK-NEXT:    func.return [[S]]

// -----

// NEMO's add already is one pulp_nn_add: unchanged, and no layer table on the module.
func.func @main(%a: tensor<1x2x2x3xui8>, %b: tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8> {
  %s = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 5 : i64, add_b = 0 : i64, shift_b = 3 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x2x2x3xui8>, tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8>
  func.return %s : tensor<1x2x2x3xui8>
}

// CHECK:       builtin.module {
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    [[S:%.*]] = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 5 : i64, add_b = 0 : i64, shift_b = 3 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64}
// CHECK-NEXT:    func.return [[S]]

// -----

// A requant continuing a layer's output takes over its DORY layer number; one feeding a
// later layer is a helper (-1).
func.func @main(%a: tensor<1x2x2x3xui8>, %b: tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8> {
  %k = qnn.constant dense<53> : tensor<1xi32>
  %l = qnn.constant dense<64> : tensor<1xi32>
  %s = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 1 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x2x2x3xui8>, tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8>
  %r = qnn.requant %s, %k, %l {requant = #qnn.requant<shift = 7, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x2x3xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x2x3xui8>
  %q = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 7, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x2x2x3xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x2x3xui8>
  %t = qnn.add %r, %q {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 1 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x2x2x3xui8>, tensor<1x2x2x3xui8>) -> tensor<1x2x2x3xui8>
  func.return %t : tensor<1x2x2x3xui8>
}

// CHECK:       builtin.module attributes {qnn.dory_layers = array<i64: -1, 0, -1, 1>} {
// CHECK-LABEL: func.func @main
// CHECK:         [[S:%.*]] = qnn.add %a, %b
// CHECK:         [[R:%.*]] = qnn.conv2d [[S]], {{.*}}qnn.legalized = "output"
// CHECK:         [[Q:%.*]] = qnn.conv2d %a, {{.*}}qnn.legalized = "input"
// CHECK-NEXT:    [[T:%.*]] = qnn.add [[R]], [[Q]]
// CHECK-NEXT:    func.return [[T]]
