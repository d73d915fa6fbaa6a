// RUN: dory-opt %s --split-input-file -p qnn-to-nhwc | filecheck %s

// conv -> requant -> flatten -> linear: the NCHW input is transposed once, the conv weight
// constant is permuted OIHW -> OHWI, the requant axis becomes 3, the flatten becomes an HWC
// flatten and the FC weight columns are permuted to match; the signature is unchanged.
func.func @main(%x: tensor<1x2x1x2xui8>) -> tensor<1x1xi32> {
  %w = qnn.constant dense<[[[[1, 2]], [[3, 4]]]]> : tensor<1x2x1x2xi8>
  %k = qnn.constant dense<1> : tensor<1xi32>
  %l = qnn.constant dense<0> : tensor<1xi32>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x2x1x2xui8>, tensor<1x2x1x2xi8> -> tensor<1x1x1x2xi32>
  %r = qnn.requant %c, %k, %l {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x1x1x2xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x1x1x2xui8>
  %d = qnn.concat %r, %r {axis = 1 : i64} : (tensor<1x1x1x2xui8>, tensor<1x1x1x2xui8>) -> tensor<1x2x1x2xui8>
  %f = qnn.reshape %d : (tensor<1x2x1x2xui8>) -> tensor<1x4xui8>
  %fw = qnn.constant dense<[[1, 2, 3, 4]]> : tensor<1x4xi8>
  %o = qnn.linear %f, %fw : tensor<1x4xui8>, tensor<1x4xi8> -> tensor<1x1xi32>
  func.return %o : tensor<1x1xi32>
}

// CHECK-LABEL:  func.func @main(%x: tensor<1x2x1x2xui8>) -> tensor<1x1xi32> {
// CHECK-NEXT:     [[W:%.*]] = qnn.constant dense<{{\[\[\[}}[1, 3], [2, 4]]]]> : tensor<1x1x2x2xi8>
// CHECK-NEXT:     [[K:%.*]] = qnn.constant dense<1> : tensor<1xi32>
// CHECK-NEXT:     [[L:%.*]] = qnn.constant dense<0> : tensor<1xi32>
// CHECK-NEXT:     [[X:%.*]] = qnn.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x1x2xui8>) -> tensor<1x1x2x2xui8>
// CHECK-NEXT:     [[C:%.*]] = qnn.conv2d [[X]], [[W]] {{{.*}}layout = "nhwc"} : tensor<1x1x2x2xui8>, tensor<1x1x2x2xi8> -> tensor<1x1x2x1xi32>
// CHECK-NEXT:     [[R:%.*]] = qnn.requant [[C]], [[K]], [[L]] {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x1x2x1xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x1x2x1xui8>
// CHECK-NEXT:     [[D:%.*]] = qnn.concat [[R]], [[R]] {axis = 3 : i64} : (tensor<1x1x2x1xui8>, tensor<1x1x2x1xui8>) -> tensor<1x1x2x2xui8>
// CHECK-NEXT:     [[F:%.*]] = qnn.reshape [[D]] : (tensor<1x1x2x2xui8>) -> tensor<1x4xui8>
// CHECK-NEXT:     [[FW:%.*]] = qnn.constant dense<{{\[}}[1, 3, 2, 4]]> : tensor<1x4xi8>
// CHECK-NEXT:     [[O:%.*]] = qnn.linear [[F]], [[FW]] : tensor<1x4xui8>, tensor<1x4xi8> -> tensor<1x1xi32>
// CHECK-NEXT:     func.return [[O]] : tensor<1x1xi32>

// -----

// Pools, a requantizing add and a fused depthwise conv; an NCHW function result is transposed back.
func.func @main(%x: tensor<1x4x6x6xui8>) -> tensor<1x4x3x3xui8> {
  %w = qnn.constant dense<1> : tensor<4x1x3x3xi8>
  %k = qnn.constant dense<1> : tensor<4xi32>
  %m = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x6x6xui8>) -> tensor<1x4x3x3xui8>
  %d = qnn.conv2d %m, %w scale(%k, %k : tensor<4xi32>, tensor<4xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nchw", requant = #qnn.requant<shift = 3, clip = [0, 255]>} : tensor<1x4x3x3xui8>, tensor<4x1x3x3xi8> -> tensor<1x4x3x3xui8>
  %a = qnn.add %d, %m {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 1 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4x3x3xui8>, tensor<1x4x3x3xui8>) -> tensor<1x4x3x3xui8>
  %p = qnn.avgpool %a {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4x3x3xui8>) -> tensor<1x4x3x3xui8>
  func.return %p : tensor<1x4x3x3xui8>
}

// CHECK-LABEL:  func.func @main(%x: tensor<1x4x6x6xui8>) -> tensor<1x4x3x3xui8> {
// CHECK:          [[W:%.*]] = qnn.constant dense<1> : tensor<4x3x3x1xi8>
// CHECK:          [[X:%.*]] = qnn.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x6x6xui8>) -> tensor<1x6x6x4xui8>
// CHECK-NEXT:     [[M:%.*]] = qnn.maxpool [[X]] {{{.*}}layout = "nhwc"} : (tensor<1x6x6x4xui8>) -> tensor<1x3x3x4xui8>
// CHECK-NEXT:     [[D:%.*]] = qnn.conv2d [[M]], [[W]] scale({{.*}}) {{{.*}}group = 4 : i64, layout = "nhwc", requant = #qnn.requant<shift = 3, clip = [0, 255]>} : tensor<1x3x3x4xui8>, tensor<4x3x3x1xi8> -> tensor<1x3x3x4xui8>
// CHECK-NEXT:     [[A:%.*]] = qnn.add [[D]], [[M]] {{{.*}}} : (tensor<1x3x3x4xui8>, tensor<1x3x3x4xui8>) -> tensor<1x3x3x4xui8>
// CHECK-NEXT:     [[P:%.*]] = qnn.avgpool [[A]] {{{.*}}layout = "nhwc"{{.*}}} : (tensor<1x3x3x4xui8>) -> tensor<1x3x3x4xui8>
// CHECK-NEXT:     [[O:%.*]] = qnn.transpose [[P]] {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x3x3x4xui8>) -> tensor<1x4x3x3xui8>
// CHECK-NEXT:     func.return [[O]] : tensor<1x4x3x3xui8>

// -----

// A flatten returned as a result is rebuilt in CHW order; a non-constant conv weight gets a
// transpose; ops already in "nhwc" are left alone.
func.func @main(%x: tensor<1x2x2x2xui8>, %w: tensor<3x2x1x2xi8>, %y: tensor<1x2x2x2xui8>, %v: tensor<3x1x1x2xi8>) -> (tensor<1x8xui8>, tensor<1x3x2x1xi32>, tensor<1x2x2x3xi32>) {
  %m = qnn.maxpool %x {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x2x2x2xui8>) -> tensor<1x2x2x2xui8>
  %f = qnn.reshape %m : (tensor<1x2x2x2xui8>) -> tensor<1x8xui8>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x2x2x2xui8>, tensor<3x2x1x2xi8> -> tensor<1x3x2x1xi32>
  %n = qnn.conv2d %y, %v {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : tensor<1x2x2x2xui8>, tensor<3x1x1x2xi8> -> tensor<1x2x2x3xi32>
  func.return %f, %c, %n : tensor<1x8xui8>, tensor<1x3x2x1xi32>, tensor<1x2x2x3xi32>
}

// CHECK-LABEL:  func.func @main
// CHECK-NEXT:     [[X:%.*]] = qnn.transpose %x {perm = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT:     [[M:%.*]] = qnn.maxpool [[X]] {{{.*}}layout = "nhwc"}
// CHECK-NEXT:     [[F:%.*]] = qnn.reshape [[M]] : (tensor<1x2x2x2xui8>) -> tensor<1x8xui8>
// CHECK-NEXT:     [[WT:%.*]] = qnn.transpose %w {perm = array<i64: 0, 2, 3, 1>} : (tensor<3x2x1x2xi8>) -> tensor<3x1x2x2xi8>
// CHECK-NEXT:     [[C:%.*]] = qnn.conv2d [[X]], [[WT]] {{{.*}}layout = "nhwc"} : tensor<1x2x2x2xui8>, tensor<3x1x2x2xi8> -> tensor<1x2x1x3xi32>
// CHECK-NEXT:     [[N:%.*]] = qnn.conv2d %y, %v {{{.*}}layout = "nhwc"} : tensor<1x2x2x2xui8>, tensor<3x1x1x2xi8> -> tensor<1x2x2x3xi32>
// CHECK-NEXT:     [[FH:%.*]] = qnn.reshape [[F]] : (tensor<1x8xui8>) -> tensor<1x2x2x2xui8>
// CHECK-NEXT:     [[FC:%.*]] = qnn.transpose [[FH]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:     [[FO:%.*]] = qnn.reshape [[FC]] : (tensor<1x2x2x2xui8>) -> tensor<1x8xui8>
// CHECK-NEXT:     [[CO:%.*]] = qnn.transpose [[C]] {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x2x1x3xi32>) -> tensor<1x3x2x1xi32>
// CHECK-NEXT:     func.return [[FO]], [[CO]], [[N]]

// -----

// With one channel NCHW and NHWC hold the same bytes: the boundary conversions are reshapes.
func.func @main(%x: tensor<1x1x4x4xui8>) -> tensor<1x1x2x2xui8> {
  %m = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x1x4x4xui8>) -> tensor<1x1x2x2xui8>
  func.return %m : tensor<1x1x2x2xui8>
}

// CHECK-LABEL:  func.func @main
// CHECK-NEXT:     [[X:%.*]] = qnn.reshape %x : (tensor<1x1x4x4xui8>) -> tensor<1x4x4x1xui8>
// CHECK-NEXT:     [[M:%.*]] = qnn.maxpool [[X]] {{{.*}}layout = "nhwc"} : (tensor<1x4x4x1xui8>) -> tensor<1x2x2x1xui8>
// CHECK-NEXT:     [[O:%.*]] = qnn.reshape [[M]] : (tensor<1x2x2x1xui8>) -> tensor<1x1x2x2xui8>
// CHECK-NEXT:     func.return [[O]]
