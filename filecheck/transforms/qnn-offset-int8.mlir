// RUN: dory-opt %s --split-input-file -p qnn-offset-int8 | filecheck %s

// A signed input read by a padded conv: the padding becomes explicit (blocks of 128 concatenated
// along H, then W), the bias gets -128*sum(w) per output channel (sum(w) = 9 and 18; no bias
// before), and the i8 requant result is the ui8 byte: lambda + (128 << 4), clip [0, 255].
func.func @main(%x: tensor<1x1x2x2xi8>) -> tensor<1x2x2x2xi8> {
  %w = qnn.constant dense<[[[[1, 1, 1], [1, 1, 1], [1, 1, 1]]], [[[2, 2, 2], [2, 2, 2], [2, 2, 2]]]]> : tensor<2x1x3x3xi8>
  %k = qnn.constant dense<[3, 5]> : tensor<2xi32>
  %l = qnn.constant dense<[-7, 9]> : tensor<2xi32>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x1x2x2xi8>, tensor<2x1x3x3xi8> -> tensor<1x2x2x2xi32>
  %r = qnn.requant %c, %k, %l {requant = #qnn.requant<shift = 4, clip = [-128, 127]>, axis = 1 : i64} : (tensor<1x2x2x2xi32>, tensor<2xi32>, tensor<2xi32>) -> tensor<1x2x2x2xi8>
  func.return %r : tensor<1x2x2x2xi8>
}

// CHECK-LABEL: func.func @main(%x: tensor<1x1x2x2xui8>) -> tensor<1x2x2x2xui8>
// CHECK:         [[W:%.*]] = qnn.constant dense<{{.*}}> : tensor<2x1x3x3xi8>
// CHECK-NEXT:    [[B:%.*]] = qnn.constant dense<[-1152, -2304]> : tensor<2xi32>
// CHECK-NEXT:    [[T:%.*]] = qnn.constant dense<128> : tensor<1x1x1x2xui8>
// CHECK-NEXT:    [[D:%.*]] = qnn.constant dense<128> : tensor<1x1x1x2xui8>
// CHECK-NEXT:    [[H:%.*]] = qnn.concat [[T]], %x, [[D]] {axis = 2 : i64} : (tensor<1x1x1x2xui8>, tensor<1x1x2x2xui8>, tensor<1x1x1x2xui8>) -> tensor<1x1x4x2xui8>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<128> : tensor<1x1x4x1xui8>
// CHECK-NEXT:    [[R:%.*]] = qnn.constant dense<128> : tensor<1x1x4x1xui8>
// CHECK-NEXT:    [[P:%.*]] = qnn.concat [[L]], [[H]], [[R]] {axis = 3 : i64} : (tensor<1x1x4x1xui8>, tensor<1x1x4x2xui8>, tensor<1x1x4x1xui8>) -> tensor<1x1x4x4xui8>
// CHECK-NEXT:    [[C:%.*]] = qnn.conv2d [[P]], [[W]] bias([[B]] : tensor<2xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, {{.*}}} : tensor<1x1x4x4xui8>, tensor<2x1x3x3xi8> -> tensor<1x2x2x2xi32>
// CHECK-NEXT:    [[K:%.*]] = qnn.constant dense<[3, 5]> : tensor<2xi32>
// CHECK-NEXT:    [[LAM:%.*]] = qnn.constant dense<[2041, 2057]> : tensor<2xi32>
// CHECK-NEXT:    [[Y:%.*]] = qnn.requant [[C]], [[K]], [[LAM]] {requant = #qnn.requant<shift = 4, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2x2x2xi32>, tensor<2xi32>, tensor<2xi32>) -> tensor<1x2x2x2xui8>
// CHECK-NEXT:    func.return [[Y]] : tensor<1x2x2x2xui8>

// -----

// A signed tensor requantized to ui8: lambda - 128*k. A residual add of two signed tensors into
// a signed result: add_a - 128*mul_a + (128 << (shift + shift_a)), add_b - 128*mul_b, clip + 128.
// Max pooling and reshapes only move the bytes.
func.func @main(%a: tensor<1x4x2x2xi8>, %b: tensor<1x4x2x2xi8>) -> (tensor<1x4x2x2xui8>, tensor<1x4xi8>) {
  %k = qnn.constant dense<3> : tensor<1xi32>
  %l = qnn.constant dense<100> : tensor<1xi32>
  %u = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x2x2xi8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4x2x2xui8>
  %s = qnn.add %a, %b {mul_a = 3 : i64, add_a = -7 : i64, shift_a = 0 : i64, mul_b = 5 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 3 : i64, lo = -128 : i64, hi = 127 : i64} : (tensor<1x4x2x2xi8>, tensor<1x4x2x2xi8>) -> tensor<1x4x2x2xi8>
  %p = qnn.maxpool %s {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x2x2xi8>) -> tensor<1x4x1x1xi8>
  %f = qnn.reshape %p : (tensor<1x4x1x1xi8>) -> tensor<1x4xi8>
  func.return %u, %f : tensor<1x4x2x2xui8>, tensor<1x4xi8>
}

// CHECK-LABEL: func.func @main(%a: tensor<1x4x2x2xui8>, %b: tensor<1x4x2x2xui8>) -> (tensor<1x4x2x2xui8>, tensor<1x4xui8>)
// CHECK:         [[K:%.*]] = qnn.constant dense<3> : tensor<1xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<-284> : tensor<1xi32>
// CHECK-NEXT:    [[U:%.*]] = qnn.requant %a, [[K]], [[L]] {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x2x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4x2x2xui8>
// CHECK-NEXT:    [[S:%.*]] = qnn.add %a, %b {mul_a = 3 : i64, add_a = 633 : i64, shift_a = 0 : i64, mul_b = 5 : i64, add_b = -640 : i64, shift_b = 0 : i64, shift = 3 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4x2x2xui8>, tensor<1x4x2x2xui8>) -> tensor<1x4x2x2xui8>
// CHECK-NEXT:    [[P:%.*]] = qnn.maxpool [[S]] {{.*}} : (tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8>
// CHECK-NEXT:    [[F:%.*]] = qnn.reshape [[P]] : (tensor<1x4x1x1xui8>) -> tensor<1x4xui8>
// CHECK-NEXT:    func.return [[U]], [[F]] : tensor<1x4x2x2xui8>, tensor<1x4xui8>

// -----

// Unsigned networks are left alone.
func.func @main(%x: tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8> {
  %p = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8>
  func.return %p : tensor<1x4x1x1xui8>
}

// CHECK-LABEL: func.func @main(%x: tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8>
// CHECK-NEXT:    [[P:%.*]] = qnn.maxpool %x {{.*}} : (tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8>
// CHECK-NEXT:    func.return [[P]]

// -----

// An average pooling whose offset form needs a negative add (mul 20 > 2^shift: add = 0 - 128*20 +
// (128 << 4) = -512), which pulp_nn_avgpool cannot take: the window sum as a depthwise conv with
// weights 1, then an exact requant: floor(5*sum_v / 16) + 128 = (5*sum_u - 512) >> 4.
func.func @main(%x: tensor<1x2x2x2xi8>) -> tensor<1x2x1x1xi8> {
  %p = qnn.avgpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 20 : i64, add = 0 : i64, shift = 4 : i64, lo = -128 : i64, hi = 127 : i64} : (tensor<1x2x2x2xi8>) -> tensor<1x2x1x1xi8>
  func.return %p : tensor<1x2x1x1xi8>
}

// CHECK-LABEL: func.func @main(%x: tensor<1x2x2x2xui8>) -> tensor<1x2x1x1xui8>
// CHECK-NEXT:    [[W:%.*]] = qnn.constant dense<1> : tensor<2x1x2x2xi8>
// CHECK-NEXT:    [[S:%.*]] = qnn.conv2d %x, [[W]] {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64, layout = "nchw"} : tensor<1x2x2x2xui8>, tensor<2x1x2x2xi8> -> tensor<1x2x1x1xi32>
// CHECK-NEXT:    [[K:%.*]] = qnn.constant dense<5> : tensor<1xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<-512> : tensor<1xi32>
// CHECK-NEXT:    [[Y:%.*]] = qnn.requant [[S]], [[K]], [[L]] {requant = #qnn.requant<shift = 4, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2x1x1xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2x1x1xui8>
// CHECK-NEXT:    func.return [[Y]]
