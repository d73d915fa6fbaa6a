// RUN: dory-opt %s --split-input-file | filecheck %s
// RUN: %roundtrip
// RUN: %generic-roundtrip

// Every qnn op in its custom form; the generic form of each must parse back to the same op.

func.func @constants() -> (tensor<4xi32>, tensor<2x2xi8>, tensor<3xui8>, tensor<2xi64>) {
  %a = qnn.constant dense<[1, -2, 3, 2147483647]> : tensor<4xi32>
  %b = qnn.constant dense<[[-128, 127], [0, 1]]> : tensor<2x2xi8>
  %c = qnn.constant dense<255> : tensor<3xui8>
  %d = qnn.constant dense<[-9223372036854775808, 9223372036854775807]> : tensor<2xi64> {name = "k"}
  func.return %a, %b, %c, %d : tensor<4xi32>, tensor<2x2xi8>, tensor<3xui8>, tensor<2xi64>
}

// CHECK-LABEL: func.func @constants
// CHECK-NEXT:    %{{.*}} = qnn.constant dense<[1, -2, 3, 2147483647]> : tensor<4xi32>
// CHECK-NEXT:    %{{.*}} = qnn.constant dense<{{\[}}[-128, 127], [0, 1]]> : tensor<2x2xi8>
// CHECK-NEXT:    %{{.*}} = qnn.constant dense<255> : tensor<3xui8>
// CHECK-NEXT:    %{{.*}} = qnn.constant dense<[-9223372036854775808, 9223372036854775807]> : tensor<2xi64> {name = "k"}

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "constants"
// CHECK-GENERIC:       "qnn.constant"() <{value = dense<[1, -2, 3, 2147483647]> : tensor<4xi32>}> : () -> tensor<4xi32>
// CHECK-GENERIC:       "qnn.constant"() <{value = dense<[-9223372036854775808, 9223372036854775807]> : tensor<2xi64>}> {name = "k"} : () -> tensor<2xi64>

// -----

func.func @conv(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %dw: tensor<4x1x3x3xi8>, %b: tensor<8xi32>,
                %k: tensor<8xi32>, %l: tensor<8xi32>, %k64: tensor<1xi64>, %l64: tensor<1xi64>,
                %xh: tensor<1x8x8x4xi8>, %wh: tensor<8x3x3x4xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>
  %1 = qnn.conv2d %x, %w bias(%b : tensor<8xi32>) {strides = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x4x4xi32>
  %2 = qnn.conv2d %x, %w bias(%b : tensor<8xi32>) scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 12, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x4x4xui8>
  %3 = qnn.conv2d %x, %dw scale(%k64, %l64 : tensor<1xi64>, tensor<1xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nchw", requant = #qnn.requant<shift = 40, clip = [-128, 127]>} : tensor<1x4x8x8xui8>, tensor<4x1x3x3xi8> -> tensor<1x4x8x8xi8>
  %4 = qnn.conv2d %xh, %wh {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : tensor<1x8x8x4xi8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xi32>
  func.return
}

// CHECK-LABEL: func.func @conv
// CHECK-NEXT:    %{{.*}} = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>
// CHECK-NEXT:    %{{.*}} = qnn.conv2d %x, %w bias(%b : tensor<8xi32>) {strides = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x4x4xi32>
// CHECK-NEXT:    %{{.*}} = qnn.conv2d %x, %w bias(%b : tensor<8xi32>) scale(%k, %l : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 12, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x4x4xui8>
// CHECK-NEXT:    %{{.*}} = qnn.conv2d %x, %dw scale(%k64, %l64 : tensor<1xi64>, tensor<1xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nchw", requant = #qnn.requant<shift = 40, clip = [-128, 127]>} : tensor<1x4x8x8xui8>, tensor<4x1x3x3xi8> -> tensor<1x4x8x8xi8>
// CHECK-NEXT:    %{{.*}} = qnn.conv2d %xh, %wh {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : tensor<1x8x8x4xi8>, tensor<8x3x3x4xi8> -> tensor<1x8x8x8xi32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "conv"
// CHECK-GENERIC:       "qnn.conv2d"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0>}> : (tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8>) -> tensor<1x8x8x8xi32>
// CHECK-GENERIC:       "qnn.conv2d"(%x, %w, %b) <{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}>
// CHECK-GENERIC:       "qnn.conv2d"(%x, %w, %b, %k, %l) <{{.*}}requant = #qnn.requant<shift = 12, clip = [0, 255]>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1>}>
// CHECK-GENERIC:       "qnn.conv2d"(%x, %dw, %k64, %l64) <{{.*}}group = 4 : i64{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1, 1>}>
// CHECK-GENERIC:       "qnn.conv2d"(%xh, %wh) <{{.*}}layout = "nhwc"

// -----

func.func @linear(%x: tensor<1x16xui8>, %w: tensor<10x16xi8>, %b: tensor<10xi32>, %k: tensor<10xi64>, %l: tensor<10xi64>) {
  %0 = qnn.linear %x, %w : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
  %1 = qnn.linear %x, %w bias(%b : tensor<10xi32>) : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
  %2 = qnn.linear %x, %w bias(%b : tensor<10xi32>) scale(%k, %l : tensor<10xi64>, tensor<10xi64>) {requant = #qnn.requant<shift = 20, clip = [0, 255]>} : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xui8>
  func.return
}

// CHECK-LABEL: func.func @linear
// CHECK-NEXT:    %{{.*}} = qnn.linear %x, %w : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
// CHECK-NEXT:    %{{.*}} = qnn.linear %x, %w bias(%b : tensor<10xi32>) : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
// CHECK-NEXT:    %{{.*}} = qnn.linear %x, %w bias(%b : tensor<10xi32>) scale(%k, %l : tensor<10xi64>, tensor<10xi64>) {requant = #qnn.requant<shift = 20, clip = [0, 255]>} : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xui8>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "linear"
// CHECK-GENERIC:       "qnn.linear"(%x, %w) <{operandSegmentSizes = array<i32: 1, 1, 0, 0, 0>}> : (tensor<1x16xui8>, tensor<10x16xi8>) -> tensor<1x10xi32>
// CHECK-GENERIC:       "qnn.linear"(%x, %w, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}>
// CHECK-GENERIC:       "qnn.linear"(%x, %w, %b, %k, %l) <{requant = #qnn.requant<shift = 20, clip = [0, 255]>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1>}>

// -----

func.func @elementwise(%a: tensor<1x8x4x4xi32>, %k: tensor<8xi32>, %l: tensor<8xi32>, %k1: tensor<1xi64>, %l1: tensor<1xi64>,
                       %x: tensor<1x8x4x4xui8>, %y: tensor<1x8x4x4xui8>) {
  %0 = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 8, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x8x4x4xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x4x4xui8>
  %1 = qnn.requant %x, %k1, %l1 {requant = #qnn.requant<shift = 0, clip = [-128, 127]>, axis = 3 : i64} : (tensor<1x8x4x4xui8>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x8x4x4xi8>
  %2 = qnn.add %x, %y {mul_a = 3 : i64, add_a = 1 : i64, shift_a = 2 : i64, mul_b = 5 : i64, add_b = -4 : i64, shift_b = 1 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x8x4x4xui8>, tensor<1x8x4x4xui8>) -> tensor<1x8x4x4xui8>
  func.return
}

// CHECK-LABEL: func.func @elementwise
// CHECK-NEXT:    %{{.*}} = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 8, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x8x4x4xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x4x4xui8>
// CHECK-NEXT:    %{{.*}} = qnn.requant %x, %k1, %l1 {requant = #qnn.requant<shift = 0, clip = [-128, 127]>, axis = 3 : i64} : (tensor<1x8x4x4xui8>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x8x4x4xi8>
// CHECK-NEXT:    %{{.*}} = qnn.add %x, %y {mul_a = 3 : i64, add_a = 1 : i64, shift_a = 2 : i64, mul_b = 5 : i64, add_b = -4 : i64, shift_b = 1 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x8x4x4xui8>, tensor<1x8x4x4xui8>) -> tensor<1x8x4x4xui8>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "elementwise"
// CHECK-GENERIC:       "qnn.requant"(%a, %k, %l) <{requant = #qnn.requant<shift = 8, clip = [0, 255]>, axis = 1 : i64}> : (tensor<1x8x4x4xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x4x4xui8>
// CHECK-GENERIC:       "qnn.requant"(%x, %k1, %l1) <{requant = #qnn.requant<shift = 0, clip = [-128, 127]>, axis = 3 : i64}>
// CHECK-GENERIC:       "qnn.add"(%x, %y) <{mul_a = 3 : i64, add_a = 1 : i64, shift_a = 2 : i64, mul_b = 5 : i64, add_b = -4 : i64, shift_b = 1 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64}> : (tensor<1x8x4x4xui8>, tensor<1x8x4x4xui8>) -> tensor<1x8x4x4xui8>

// -----

func.func @pools(%x: tensor<1x8x9x9xui8>, %h: tensor<1x9x9x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw"} : (tensor<1x8x9x9xui8>) -> tensor<1x8x5x5xui8>
  %1 = qnn.maxpool %h {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc"} : (tensor<1x9x9x8xui8>) -> tensor<1x4x4x8xui8>
  %2 = qnn.avgpool %x {kernel = array<i64: 9, 9>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x8x9x9xui8>) -> tensor<1x8x1x1xui8>
  %3 = qnn.avgpool %h {kernel = array<i64: 3, 1>, strides = array<i64: 3, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", mul = 7 : i64, add = 16 : i64, shift = 5 : i64, lo = 0 : i64, hi = 127 : i64} : (tensor<1x9x9x8xui8>) -> tensor<1x3x9x8xui8>
  func.return
}

// CHECK-LABEL: func.func @pools
// CHECK-NEXT:    %{{.*}} = qnn.maxpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw"} : (tensor<1x8x9x9xui8>) -> tensor<1x8x5x5xui8>
// CHECK-NEXT:    %{{.*}} = qnn.maxpool %h {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc"} : (tensor<1x9x9x8xui8>) -> tensor<1x4x4x8xui8>
// CHECK-NEXT:    %{{.*}} = qnn.avgpool %x {kernel = array<i64: 9, 9>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x8x9x9xui8>) -> tensor<1x8x1x1xui8>
// CHECK-NEXT:    %{{.*}} = qnn.avgpool %h {kernel = array<i64: 3, 1>, strides = array<i64: 3, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", mul = 7 : i64, add = 16 : i64, shift = 5 : i64, lo = 0 : i64, hi = 127 : i64} : (tensor<1x9x9x8xui8>) -> tensor<1x3x9x8xui8>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "pools"
// CHECK-GENERIC:       "qnn.maxpool"(%x) <{kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw"}> : (tensor<1x8x9x9xui8>) -> tensor<1x8x5x5xui8>
// CHECK-GENERIC:       "qnn.maxpool"(%h) <{{.*}}layout = "nhwc"}>
// CHECK-GENERIC:       "qnn.avgpool"(%x) <{kernel = array<i64: 9, 9>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64}> : (tensor<1x8x9x9xui8>) -> tensor<1x8x1x1xui8>
// CHECK-GENERIC:       "qnn.avgpool"(%h) <{{.*}}mul = 7 : i64, add = 16 : i64, shift = 5 : i64, lo = 0 : i64, hi = 127 : i64}>

// -----

func.func @shapes(%x: tensor<1x8x4x4xui8>, %y: tensor<1x2x4x4xui8>) {
  %0 = qnn.concat %x, %y {axis = 1 : i64} : (tensor<1x8x4x4xui8>, tensor<1x2x4x4xui8>) -> tensor<1x10x4x4xui8>
  %1 = qnn.concat %x {axis = 0 : i64} : (tensor<1x8x4x4xui8>) -> tensor<1x8x4x4xui8>
  %2 = qnn.reshape %x : (tensor<1x8x4x4xui8>) -> tensor<1x128xui8>
  %3 = qnn.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x4xui8>) -> tensor<1x4x4x8xui8>
  %4 = qnn.slice %x {offsets = array<i64: 0, 3, 1, 0>} : (tensor<1x8x4x4xui8>) -> tensor<1x2x3x4xui8>
  func.return
}

// CHECK-LABEL: func.func @shapes
// CHECK-NEXT:    %{{.*}} = qnn.concat %x, %y {axis = 1 : i64} : (tensor<1x8x4x4xui8>, tensor<1x2x4x4xui8>) -> tensor<1x10x4x4xui8>
// CHECK-NEXT:    %{{.*}} = qnn.concat %x {axis = 0 : i64} : (tensor<1x8x4x4xui8>) -> tensor<1x8x4x4xui8>
// CHECK-NEXT:    %{{.*}} = qnn.reshape %x : (tensor<1x8x4x4xui8>) -> tensor<1x128xui8>
// CHECK-NEXT:    %{{.*}} = qnn.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x4xui8>) -> tensor<1x4x4x8xui8>
// CHECK-NEXT:    %{{.*}} = qnn.slice %x {offsets = array<i64: 0, 3, 1, 0>} : (tensor<1x8x4x4xui8>) -> tensor<1x2x3x4xui8>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "shapes"
// CHECK-GENERIC:       "qnn.concat"(%x, %y) <{axis = 1 : i64}> : (tensor<1x8x4x4xui8>, tensor<1x2x4x4xui8>) -> tensor<1x10x4x4xui8>
// CHECK-GENERIC:       "qnn.concat"(%x) <{axis = 0 : i64}>
// CHECK-GENERIC:       "qnn.reshape"(%x) : (tensor<1x8x4x4xui8>) -> tensor<1x128xui8>
// CHECK-GENERIC:       "qnn.transpose"(%x) <{perm = array<i64: 0, 2, 3, 1>}> : (tensor<1x8x4x4xui8>) -> tensor<1x4x4x8xui8>
// CHECK-GENERIC:       "qnn.slice"(%x) <{offsets = array<i64: 0, 3, 1, 0>}> : (tensor<1x8x4x4xui8>) -> tensor<1x2x3x4xui8>
