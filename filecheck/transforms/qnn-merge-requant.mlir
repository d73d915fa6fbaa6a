// RUN: dory-opt %s --split-input-file -p qnn-merge-requant | filecheck %s

// conv2d (requant into i32) -> requant: clip(clip(3*acc, -1000, 1000) >> 2) on acc in [0, 255]
// (one input channel, weight 1) is clip((3*acc + 0) >> 2): one conv2d, i32 constants.
func.func @main(%x: tensor<1x1x4x4xui8>) -> tensor<1x1x4x4xui8> {
  %w = qnn.constant dense<1> : tensor<1x1x1x1xi8>
  %k1 = qnn.constant dense<3> : tensor<1xi64>
  %l1 = qnn.constant dense<0> : tensor<1xi64>
  %k2 = qnn.constant dense<1> : tensor<1xi32>
  %l2 = qnn.constant dense<0> : tensor<1xi32>
  %c = qnn.conv2d %x, %w scale(%k1, %l1 : tensor<1xi64>, tensor<1xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 0, clip = [-1000, 1000]>} : tensor<1x1x4x4xui8>, tensor<1x1x1x1xi8> -> tensor<1x1x4x4xi32>
  %r = qnn.requant %c, %k2, %l2 {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x1x4x4xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x1x4x4xui8>
  func.return %r : tensor<1x1x4x4xui8>
}

// CHECK-LABEL: func.func @main
// CHECK-NOT:     qnn.requant %
// CHECK:         [[K:%.*]] = qnn.constant dense<3> : tensor<1xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<0> : tensor<1xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.conv2d %x, %{{.*}} scale([[K]], [[L]] : tensor<1xi32>, tensor<1xi32>) {{{.*}}layout = "nchw", requant = #qnn.requant<shift = 2, clip = [0, 255]>} : tensor<1x1x4x4xui8>, tensor<1x1x1x1xi8> -> tensor<1x1x4x4xui8>
// CHECK-NOT:     qnn.requant %
// CHECK:         func.return [[R]]

// -----

// Per channel, with a bias and a rounding offset: floor(floor((acc + 1) / 2) / 2) is
// floor((acc + 1) / 4) for channel 0, and channel 1 (k1 = 2) becomes floor((acc + 1) / 2).
func.func @main(%x: tensor<1x4xui8>) -> tensor<1x2xui8> {
  %w = qnn.constant dense<[[1, 0, 0, 0], [0, 1, 0, 0]]> : tensor<2x4xi8>
  %b = qnn.constant dense<[-3, 7]> : tensor<2xi32>
  %k1 = qnn.constant dense<[1, 2]> : tensor<2xi32>
  %l1 = qnn.constant dense<[1, 2]> : tensor<2xi32>
  %k2 = qnn.constant dense<1> : tensor<1xi32>
  %l2 = qnn.constant dense<0> : tensor<1xi32>
  %f = qnn.linear %x, %w bias(%b : tensor<2xi32>) scale(%k1, %l1 : tensor<2xi32>, tensor<2xi32>) {requant = #qnn.requant<shift = 1, clip = [-10000, 10000]>} : tensor<1x4xui8>, tensor<2x4xi8> -> tensor<1x2xi32>
  %r = qnn.requant %f, %k2, %l2 {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2xui8>
  func.return %r : tensor<1x2xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[K:%.*]] = qnn.constant dense<[1, 2]> : tensor<2xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<[1, 2]> : tensor<2xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.linear %x, %{{.*}} bias(%{{.*}} : tensor<2xi32>) scale([[K]], [[L]] : tensor<2xi32>, tensor<2xi32>) {requant = #qnn.requant<shift = 2, clip = [0, 255]>} : tensor<1x4xui8>, tensor<2x4xi8> -> tensor<1x2xui8>
// CHECK-NEXT:    func.return [[R]]

// -----

// requant -> requant on a ui8 argument (per channel along axis 1): one requant.
func.func @main(%x: tensor<1x2x3xui8>) -> tensor<1x2x3xui8> {
  %k1 = qnn.constant dense<[5, 6]> : tensor<2xi32>
  %l1 = qnn.constant dense<0> : tensor<1xi32>
  %k2 = qnn.constant dense<3> : tensor<1xi32>
  %l2 = qnn.constant dense<[1, 2]> : tensor<2xi32>
  %a = qnn.requant %x, %k1, %l1 {requant = #qnn.requant<shift = 0, clip = [0, 2000]>, axis = 1 : i64} : (tensor<1x2x3xui8>, tensor<2xi32>, tensor<1xi32>) -> tensor<1x2x3xi32>
  %b = qnn.requant %a, %k2, %l2 {requant = #qnn.requant<shift = 4, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2x3xi32>, tensor<1xi32>, tensor<2xi32>) -> tensor<1x2x3xui8>
  func.return %b : tensor<1x2x3xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[K:%.*]] = qnn.constant dense<[15, 18]> : tensor<2xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<[1, 2]> : tensor<2xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.requant %x, [[K]], [[L]] {requant = #qnn.requant<shift = 4, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2x3xui8>, tensor<2xi32>, tensor<2xi32>) -> tensor<1x2x3xui8>
// CHECK-NEXT:    func.return [[R]]

// -----

// A non-increasing chain (negative k1) gets a negative k.
func.func @main(%x: tensor<1x2xui8>) -> tensor<1x2xui8> {
  %k1 = qnn.constant dense<-2> : tensor<1xi32>
  %l1 = qnn.constant dense<600> : tensor<1xi32>
  %k2 = qnn.constant dense<1> : tensor<1xi32>
  %l2 = qnn.constant dense<0> : tensor<1xi32>
  %a = qnn.requant %x, %k1, %l1 {requant = #qnn.requant<shift = 0, clip = [0, 1000]>, axis = 1 : i64} : (tensor<1x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2xi32>
  %b = qnn.requant %a, %k2, %l2 {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x2xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x2xui8>
  func.return %b : tensor<1x2xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[K:%.*]] = qnn.constant dense<-1> : tensor<1xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<300> : tensor<1xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.requant %x, [[K]], [[L]] {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    func.return [[R]]

// -----

// Left alone: double rounding floor(3*floor(x/2)/4) has no single stage (thresholds 4, 6, 8,
// 12 need a slope both above and below 2/5); a requant whose input has two uses; requants
// along different per-channel axes.
func.func @main(%x: tensor<2x2xui8>) -> (tensor<2x2xui8>, tensor<2x2xui8>, tensor<2x2xi32>, tensor<2x2xui8>) {
  %one = qnn.constant dense<1> : tensor<1xi32>
  %zero = qnn.constant dense<0> : tensor<1xi32>
  %three = qnn.constant dense<3> : tensor<1xi32>
  %kc = qnn.constant dense<[1, 2]> : tensor<2xi32>
  %a = qnn.requant %x, %one, %zero {requant = #qnn.requant<shift = 1, clip = [0, 127]>, axis = 1 : i64} : (tensor<2x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<2x2xui8>
  %b = qnn.requant %a, %three, %zero {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<2x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<2x2xui8>
  %c = qnn.requant %x, %three, %zero {requant = #qnn.requant<shift = 0, clip = [0, 1000]>, axis = 1 : i64} : (tensor<2x2xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<2x2xi32>
  %d = qnn.requant %c, %one, %zero {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<2x2xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<2x2xui8>
  %e = qnn.requant %x, %kc, %zero {requant = #qnn.requant<shift = 0, clip = [0, 1000]>, axis = 0 : i64} : (tensor<2x2xui8>, tensor<2xi32>, tensor<1xi32>) -> tensor<2x2xi32>
  %g = qnn.requant %e, %kc, %zero {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<2x2xi32>, tensor<2xi32>, tensor<1xi32>) -> tensor<2x2xui8>
  func.return %b, %d, %c, %g : tensor<2x2xui8>, tensor<2x2xui8>, tensor<2x2xi32>, tensor<2x2xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[A:%.*]] = qnn.requant %x, %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 1, clip = [0, 127]>, axis = 1 : i64}
// CHECK-NEXT:    [[B:%.*]] = qnn.requant [[A]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    [[C:%.*]] = qnn.requant %x, %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 0, clip = [0, 1000]>, axis = 1 : i64}
// CHECK-NEXT:    [[D:%.*]] = qnn.requant [[C]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    [[E:%.*]] = qnn.requant %x, %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 0, clip = [0, 1000]>, axis = 0 : i64}
// CHECK-NEXT:    [[G:%.*]] = qnn.requant [[E]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    func.return [[B]], [[D]], [[C]], [[G]]
