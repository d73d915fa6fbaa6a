// RUN: dory-opt %s --split-input-file -p qnn-fuse-requant | filecheck %s

// conv2d -> requant (per channel, i32) becomes one requantizing conv2d.
func.func @main(%x: tensor<1x4x8x8xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x4x3x3xi8>
  %b = qnn.constant dense<2> : tensor<8xi32>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %c = qnn.conv2d %x, %w bias(%b : tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>
  %r = qnn.requant %c, %k, %l {requant = #qnn.requant<shift = 5, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x8x8x8xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x8x8xui8>
  func.return %r : tensor<1x8x8x8xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[W:%.*]] = qnn.constant dense<1> : tensor<8x4x3x3xi8>
// CHECK-NEXT:    [[B:%.*]] = qnn.constant dense<2> : tensor<8xi32>
// CHECK-NEXT:    [[K:%.*]] = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.conv2d %x, [[W]] bias([[B]] : tensor<8xi32>) scale([[K]], [[L]] : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 5, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xui8>
// CHECK-NEXT:    func.return [[R]] : tensor<1x8x8x8xui8>

// -----

// Broadcast [1] constants (i64) are expanded to per-channel constants of the same type.
func.func @main(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<4x1x3x3xi8>
  %k = qnn.constant dense<3> : tensor<1xi64>
  %l = qnn.constant dense<-7> : tensor<1xi64>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<4x1x3x3xi8> -> tensor<1x4x8x8xi32>
  %r = qnn.requant %c, %k, %l {requant = #qnn.requant<shift = 33, clip = [0, 255]>, axis = 2 : i64} : (tensor<1x4x8x8xi32>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x4x8x8xui8>
  func.return %r : tensor<1x4x8x8xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[K:%.*]] = qnn.constant dense<3> : tensor<4xi64>
// CHECK-NEXT:    [[L:%.*]] = qnn.constant dense<-7> : tensor<4xi64>
// CHECK-NEXT:    [[R:%.*]] = qnn.conv2d %x, %{{.*}} scale([[K]], [[L]] : tensor<4xi64>, tensor<4xi64>) {{{.*}}group = 4 : i64, layout = "nchw", requant = #qnn.requant<shift = 33, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<4x1x3x3xi8> -> tensor<1x4x8x8xui8>
// CHECK-NEXT:    func.return [[R]]

// -----

// linear -> requant -> ReLU (clip-only requant) becomes one linear with the intersected clip.
func.func @main(%x: tensor<1x16xui8>) -> tensor<1x4xi8> {
  %w = qnn.constant dense<1> : tensor<4x16xi8>
  %k = qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
  %l = qnn.constant dense<0> : tensor<4xi32>
  %one = qnn.constant dense<1> : tensor<1xi32>
  %zero = qnn.constant dense<0> : tensor<1xi32>
  %f = qnn.linear %x, %w : tensor<1x16xui8>, tensor<4x16xi8> -> tensor<1x4xi32>
  %r = qnn.requant %f, %k, %l {requant = #qnn.requant<shift = 3, clip = [-128, 127]>, axis = 1 : i64} : (tensor<1x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4xi8>
  %relu = qnn.requant %r, %one, %zero {requant = #qnn.requant<shift = 0, clip = [0, 127]>, axis = 1 : i64} : (tensor<1x4xi8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xi8>
  func.return %relu : tensor<1x4xi8>
}

// CHECK-LABEL: func.func @main
// CHECK-NOT:     = qnn.requant
// CHECK:         [[R:%.*]] = qnn.linear %x, %{{.*}} scale(%{{.*}}, %{{.*}} : tensor<4xi32>, tensor<4xi32>) {requant = #qnn.requant<shift = 3, clip = [0, 127]>} : tensor<1x16xui8>, tensor<4x16xi8> -> tensor<1x4xi8>
// CHECK-NOT:     = qnn.requant
// CHECK:         func.return [[R]] : tensor<1x4xi8>

// -----

// nhwc conv2d: the channel axis is 3; a clip to another result type folds as well.
func.func @main(%x: tensor<1x8x8x4xui8>) -> tensor<1x8x8x2xi8> {
  %w = qnn.constant dense<1> : tensor<2x1x1x4xi8>
  %k = qnn.constant dense<[5, 6]> : tensor<2xi32>
  %l = qnn.constant dense<[1, 1]> : tensor<2xi32>
  %one = qnn.constant dense<1> : tensor<2xi32>
  %zero = qnn.constant dense<0> : tensor<2xi32>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : tensor<1x8x8x4xui8>, tensor<2x1x1x4xi8> -> tensor<1x8x8x2xi32>
  %r = qnn.requant %c, %k, %l {requant = #qnn.requant<shift = 4, clip = [0, 255]>, axis = 3 : i64} : (tensor<1x8x8x2xi32>, tensor<2xi32>, tensor<2xi32>) -> tensor<1x8x8x2xui8>
  %s = qnn.requant %r, %one, %zero {requant = #qnn.requant<shift = 0, clip = [0, 127]>, axis = 3 : i64} : (tensor<1x8x8x2xui8>, tensor<2xi32>, tensor<2xi32>) -> tensor<1x8x8x2xi8>
  func.return %s : tensor<1x8x8x2xi8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[R:%.*]] = qnn.conv2d %x, %{{.*}} scale(%{{.*}}, %{{.*}} : tensor<2xi32>, tensor<2xi32>) {{{.*}}layout = "nhwc", requant = #qnn.requant<shift = 4, clip = [0, 127]>} : tensor<1x8x8x4xui8>, tensor<2x1x1x4xi8> -> tensor<1x8x8x2xi8>
// CHECK-NEXT:    func.return [[R]]

// -----

// A standalone requant and an add take a following clip into their bounds.
func.func @main(%x: tensor<1x4xui8>, %y: tensor<1x4xui8>) -> (tensor<1x4xui8>, tensor<1x4xui8>) {
  %k = qnn.constant dense<3> : tensor<1xi32>
  %l = qnn.constant dense<2> : tensor<1xi32>
  %one = qnn.constant dense<1> : tensor<1xi32>
  %zero = qnn.constant dense<0> : tensor<1xi32>
  %r = qnn.requant %x, %k, %l {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xui8>
  %rc = qnn.requant %r, %one, %zero {requant = #qnn.requant<shift = 0, clip = [10, 100]>, axis = 1 : i64} : (tensor<1x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xui8>
  %a = qnn.add %x, %y {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x4xui8>
  %ac = qnn.requant %a, %one, %zero {requant = #qnn.requant<shift = 0, clip = [0, 63]>, axis = 0 : i64} : (tensor<1x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xui8>
  func.return %rc, %ac : tensor<1x4xui8>, tensor<1x4xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[R:%.*]] = qnn.requant %x, %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 1, clip = [10, 100]>, axis = 1 : i64}
// CHECK-NEXT:    [[A:%.*]] = qnn.add %x, %y {{{.*}}lo = 0 : i64, hi = 63 : i64}
// CHECK-NEXT:    func.return [[R]], [[A]]

// -----

// Left alone: an accumulator with two uses, a requant along a non-channel axis, a clip that is
// not clip-only (shift 1), a clip of a value with two uses (%r); a chain of clips folds (%u, %v).
func.func @main(%x: tensor<1x4x4x4xui8>) -> (tensor<1x4x4x4xi32>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>) {
  %w = qnn.constant dense<1> : tensor<4x4x1x1xi8>
  %k = qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
  %one = qnn.constant dense<1> : tensor<1xi32>
  %zero = qnn.constant dense<0> : tensor<1xi32>
  %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x4x4xui8>, tensor<4x4x1x1xi8> -> tensor<1x4x4x4xi32>
  %r = qnn.requant %c, %k, %k {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x4x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4x4x4xui8>
  %d = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x4x4xui8>, tensor<4x4x1x1xi8> -> tensor<1x4x4x4xi32>
  %s = qnn.requant %d, %k, %k {requant = #qnn.requant<shift = 2, clip = [0, 100]>, axis = 2 : i64} : (tensor<1x4x4x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4x4x4xui8>
  %t = qnn.requant %s, %one, %zero {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x4x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4x4x4xui8>
  %u = qnn.requant %r, %one, %zero {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x4x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4x4x4xui8>
  %v = qnn.requant %u, %one, %zero {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4x4x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4x4x4xui8>
  func.return %c, %t, %r, %v : tensor<1x4x4x4xi32>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[C:%.*]] = qnn.conv2d %x, %{{.*}} {{{.*}}} : tensor<1x4x4x4xui8>, tensor<4x4x1x1xi8> -> tensor<1x4x4x4xi32>
// CHECK-NEXT:    [[R:%.*]] = qnn.requant [[C]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 2, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    [[D:%.*]] = qnn.conv2d %x, %{{.*}} {{{.*}}} : tensor<1x4x4x4xui8>, tensor<4x4x1x1xi8> -> tensor<1x4x4x4xi32>
// CHECK-NEXT:    [[S:%.*]] = qnn.requant [[D]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 2, clip = [0, 100]>, axis = 2 : i64}
// CHECK-NEXT:    [[T:%.*]] = qnn.requant [[S]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    [[V:%.*]] = qnn.requant [[R]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 0, clip = [0, 255]>, axis = 1 : i64}
// CHECK-NEXT:    func.return [[C]], [[T]], [[R]], [[V]]

// -----

// A clip disjoint from the producer's range is not folded (the result would be a constant).
func.func @main(%x: tensor<1x4xui8>) -> tensor<1x4xui8> {
  %k = qnn.constant dense<3> : tensor<1xi32>
  %one = qnn.constant dense<1> : tensor<1xi32>
  %zero = qnn.constant dense<0> : tensor<1xi32>
  %r = qnn.requant %x, %k, %zero {requant = #qnn.requant<shift = 1, clip = [0, 100]>, axis = 1 : i64} : (tensor<1x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xui8>
  %c = qnn.requant %r, %one, %zero {requant = #qnn.requant<shift = 0, clip = [200, 255]>, axis = 1 : i64} : (tensor<1x4xui8>, tensor<1xi32>, tensor<1xi32>) -> tensor<1x4xui8>
  func.return %c : tensor<1x4xui8>
}

// CHECK-LABEL: func.func @main
// CHECK:         [[R:%.*]] = qnn.requant %x, %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 1, clip = [0, 100]>, axis = 1 : i64}
// CHECK-NEXT:    [[C:%.*]] = qnn.requant [[R]], %{{.*}}, %{{.*}} {requant = #qnn.requant<shift = 0, clip = [200, 255]>, axis = 1 : i64}
// CHECK-NEXT:    func.return [[C]]
