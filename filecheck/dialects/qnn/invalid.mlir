// RUN: %verify-diagnostics

// One verifier rule per chunk; each expected-error is the diagnostic the user sees (`<op> [%result]: <what is wrong>`),
// checked by dory-opt --verify-diagnostics on the line of the op it names.

// RequantAttr
func.func @f(%a: tensor<4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 64, clip = [0, 255]>, axis = 0 : i64} : (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<4xui8>
  func.return
}
// expected-error @-3 {{requant shift 64 is not in [0, 63]}}

// -----

func.func @f(%a: tensor<4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [10, 9]>, axis = 0 : i64} : (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<4xui8>
  func.return
}
// expected-error @-3 {{requant clip bounds [10, 9] are empty}}

// -----
// qnn.constant

%0 = "qnn.constant"() <{value = dense<1> : tensor<2xi8>}> : () -> tensor<3xi8>
// expected-error @-1 {{qnn.constant: result type tensor<3xi8> does not match the value type tensor<2xi8>}}

// -----

%0 = qnn.constant dense<1.0> : tensor<2xf32>
// expected-error @-1 {{qnn.constant: value must have an integer element type, got f32}}

// -----
// qnn.conv2d: types and ranks

func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xi8>) {
  %conv1 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xf32>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d %conv1: input must have an integer element type, got f32}}

// -----

func.func @f(%x: tensor<1x4x8x8xi16>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xi16>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: input must hold 8-bit integers, got i16}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xui8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xui8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: weight must hold i8 (signed 8-bit) integers, got ui8}}

// -----

func.func @f(%x: tensor<4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: input must have rank 4, got shape [4, 8, 8]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: weight must have rank 4, got shape [8, 4, 3]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "chwn"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: layout must be one of ('nchw', 'nhwc'), got "chwn"}}

// -----
// qnn.conv2d: window parameters

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: strides must have 2 values, got 1}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 0>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: strides must be >= 1, got [1, 0]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, -1, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: pads must be >= 0, got [0, -1, 0, 0]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 0, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: dilations must be >= 1, got [0, 1]}}

// -----

func.func @f(%x: tensor<1x4x2x2xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x2x2xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x1x1xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: kernel 3x3 does not fit the padded 2x2 input}}

// -----
// qnn.conv2d: channels

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x1x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 3 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x1x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: group 3 must divide the input channels (4) and output channels (8)}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x2x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x2x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: weight has 2 input channels per group, expected 1 (4 input channels, group 4)}}

// -----

func.func @f(%x: tensor<1x8x8x4xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : tensor<1x8x8x4xui8>, tensor<8x4x3x3xi8> -> tensor<1x6x6x8xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: weight has 3 input channels per group, expected 4 (4 input channels, group 1)}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %b: tensor<8xi8>) {
  %0 = qnn.conv2d %x, %w bias(%b : tensor<8xi8>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: bias must be tensor<8xi32>, got tensor<8xi8>}}

// -----
// qnn.conv2d: results and requantization

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: result without requantization must be i32, got ui8}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {
  %0 = qnn.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi32>
  func.return
}
// expected-error @-3 {{qnn.conv2d: result shape [1, 8, 6, 6] does not match the expected [1, 8, 3, 3]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi32>) {
  %0 = qnn.conv2d %x, %w scale(%k, %k : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: requantization needs all of the k and lambda operands and the requant property}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi16>) {
  %0 = qnn.conv2d %x, %w scale(%k, %k : tensor<8xi16>, tensor<8xi16>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: k must be i32 or i64, got i16}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi32>, %l: tensor<4xi32>) {
  %0 = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<4xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: lambda must have shape [8] (per channel) or [1], got [4]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi32>, %l: tensor<8xi64>) {
  %0 = qnn.conv2d %x, %w scale(%k, %l : tensor<8xi32>, tensor<8xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: k and lambda must have the same element type, got i32 and i64}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi32>) {
  %0 = qnn.conv2d %x, %w scale(%k, %k : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 32, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xui8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: requant shift 32 must be below the 32-bit width of k}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi64>) {
  %0 = qnn.conv2d %x, %w scale(%k, %k : tensor<8xi64>, tensor<8xi64>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi64>
  func.return
}
// expected-error @-3 {{qnn.conv2d: requantized result must be at most 32-bit, got i64}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>, %k: tensor<8xi32>) {
  %0 = qnn.conv2d %x, %w scale(%k, %k : tensor<8xi32>, tensor<8xi32>) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw", requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x6x6xi8>
  func.return
}
// expected-error @-3 {{qnn.conv2d: clip bounds [0, 255] do not fit the result element type i8 ([-128, 127])}}

// -----
// qnn.linear

func.func @f(%x: tensor<1x2x8xui8>, %w: tensor<10x16xi8>) {
  %0 = qnn.linear %x, %w : tensor<1x2x8xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
  func.return
}
// expected-error @-3 {{qnn.linear: input must have rank 2, got shape [1, 2, 8]}}

// -----

func.func @f(%x: tensor<1x16xui8>, %w: tensor<10x16xi32>) {
  %0 = qnn.linear %x, %w : tensor<1x16xui8>, tensor<10x16xi32> -> tensor<1x10xi32>
  func.return
}
// expected-error @-3 {{qnn.linear: weight must hold i8 (signed 8-bit) integers, got i32}}

// -----

func.func @f(%x: tensor<1x16xui8>, %w: tensor<10x15xi8>) {
  %0 = qnn.linear %x, %w : tensor<1x16xui8>, tensor<10x15xi8> -> tensor<1x10xi32>
  func.return
}
// expected-error @-3 {{qnn.linear: weight has 15 input features, the input has 16}}

// -----

func.func @f(%x: tensor<1x16xui8>, %w: tensor<10x16xi8>, %b: tensor<1xi32>) {
  %0 = qnn.linear %x, %w bias(%b : tensor<1xi32>) : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xi32>
  func.return
}
// expected-error @-3 {{qnn.linear: bias must be tensor<10xi32>, got tensor<1xi32>}}

// -----

func.func @f(%x: tensor<1x16xui8>, %w: tensor<10x16xi8>) {
  %0 = qnn.linear %x, %w {requant = #qnn.requant<shift = 4, clip = [0, 255]>} : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x10xui8>
  func.return
}
// expected-error @-3 {{qnn.linear: requantization needs all of the k and lambda operands and the requant property}}

// -----

func.func @f(%x: tensor<1x16xui8>, %w: tensor<10x16xi8>) {
  %0 = qnn.linear %x, %w : tensor<1x16xui8>, tensor<10x16xi8> -> tensor<1x11xi32>
  func.return
}
// expected-error @-3 {{qnn.linear: result shape [1, 11] does not match the expected [1, 10]}}

// -----
// qnn.requant

func.func @f(%a: tensor<1x4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 2 : i64} : (tensor<1x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: axis 2 is out of range for rank 2}}

// -----

func.func @f(%a: tensor<1x4xf32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4xf32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: input must have an integer element type, got f32}}

// -----

func.func @f(%a: tensor<1x4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 0 : i64} : (tensor<1x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: k must have shape [1] (per channel) or [1], got [4]}}

// -----

func.func @f(%a: tensor<1x4xi32>, %k: tensor<4xui32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4xi32>, tensor<4xui32>, tensor<4xui32>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: k must be i32 or i64, got ui32}}

// -----

func.func @f(%a: tensor<1x4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [-1, 255]>, axis = 1 : i64} : (tensor<1x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: clip bounds [-1, 255] do not fit the result element type ui8 ([0, 255])}}

// -----

func.func @f(%a: tensor<1x4xi32>, %k: tensor<4xi32>) {
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 1, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<4x1xui8>
  func.return
}
// expected-error @-3 {{qnn.requant: result shape [4, 1] does not match the expected [1, 4]}}

// -----
// qnn.add

func.func @f(%a: tensor<1x4xi32>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xi32>, tensor<1x4xui8>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.add: lhs must hold 8-bit integers, got i32}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<4x1xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<4x1xui8>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.add: operand shapes [1, 4] and [4, 1] differ}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 32 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.add: shift_b 32 is not in [0, 31]}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 255 : i64, hi = 0 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.add: clip bounds [255, 0] are empty}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x4xi32>
  func.return
}
// expected-error @-3 {{qnn.add: result must hold 8-bit integers, got i32}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x4xi8>
  func.return
}
// expected-error @-3 {{qnn.add: clip bounds [0, 255] do not fit the result element type i8 ([-128, 127])}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xui8>) {
  %0 = qnn.add %a, %b {mul_a = 1 : i64, add_a = 0 : i64, shift_a = 0 : i64, mul_b = 1 : i64, add_b = 0 : i64, shift_b = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x5xui8>
  func.return
}
// expected-error @-3 {{qnn.add: result shape [1, 5] does not match the expected [1, 4]}}

// -----
// qnn.maxpool / qnn.avgpool

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "hwc"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: layout must be one of ('nchw', 'nhwc'), got "hwc"}}

// -----

func.func @f(%x: tensor<1x4x8x8xi32>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xi32>) -> tensor<1x4x4x4xi32>
  func.return
}
// expected-error @-3 {{qnn.maxpool: input must hold 8-bit integers, got i32}}

// -----

func.func @f(%x: tensor<4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: input must have rank 4, got shape [4, 8, 8]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 0, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: kernel must be >= 1, got [0, 2]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: strides must have 2 values, got 3}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: pads must have 4 values, got 2}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 2, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x5xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: pads [0, 2, 0, 0] must be smaller than the 2x2 window (a window must not lie entirely in the padding)}}

// -----

func.func @f(%x: tensor<1x4x2x2xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x2x2xui8>) -> tensor<1x4x1x1xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: window 3x3 does not fit the padded 2x2 input}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xi16>
  func.return
}
// expected-error @-3 {{qnn.maxpool: result must hold 8-bit integers, got i16}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: result shape [1, 4, 4, 4] does not match the expected [1, 2, 4, 8]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.maxpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xi8>
  func.return
}
// expected-error @-3 {{qnn.maxpool: result element type i8 must match the input element type ui8}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.avgpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 32 : i64, lo = 0 : i64, hi = 255 : i64} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.avgpool: shift 32 is not in [0, 31]}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.avgpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 3 : i64, hi = 2 : i64} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.avgpool: clip bounds [3, 2] are empty}}

// -----

func.func @f(%x: tensor<1x4x8x8xui8>) {
  %0 = qnn.avgpool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", mul = 1 : i64, add = 0 : i64, shift = 0 : i64, lo = 0 : i64, hi = 256 : i64} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  func.return
}
// expected-error @-3 {{qnn.avgpool: clip bounds [0, 256] do not fit the result element type ui8 ([0, 255])}}

// -----
// qnn.concat

func.func @f() {
  %0 = qnn.concat {axis = 0 : i64} : () -> tensor<1xui8>
  func.return
}
// expected-error @-3 {{qnn.concat: concat needs at least one input}}

// -----

func.func @f(%a: tensor<1x4xui8>) {
  %0 = qnn.concat %a, %a {axis = -1 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x8xui8>
  func.return
}
// expected-error @-3 {{qnn.concat: axis -1 is out of range for rank 2}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<2x4xui8>) {
  %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x4xui8>, tensor<2x4xui8>) -> tensor<1x8xui8>
  func.return
}
// expected-error @-3 {{qnn.concat: input shapes [1, 4] and [2, 4] differ outside axis 1}}

// -----

func.func @f(%a: tensor<1x4xui8>, %b: tensor<1x4xi8>) {
  %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x4xui8>, tensor<1x4xi8>) -> tensor<1x8xui8>
  func.return
}
// expected-error @-3 {{qnn.concat: all inputs must have the same element type}}

// -----

func.func @f(%a: tensor<1x4xui8>) {
  %0 = qnn.concat %a, %a {axis = 1 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<1x8xi8>
  func.return
}
// expected-error @-3 {{qnn.concat: result element type must match the inputs}}

// -----

func.func @f(%a: tensor<1x4xui8>) {
  %0 = qnn.concat %a, %a {axis = 1 : i64} : (tensor<1x4xui8>, tensor<1x4xui8>) -> tensor<2x4xui8>
  func.return
}
// expected-error @-3 {{qnn.concat: result shape [2, 4] does not match the expected [1, 8]}}

// -----
// qnn.reshape

func.func @f(%a: tensor<1x4xui8>) {
  %0 = qnn.reshape %a : (tensor<1x4xui8>) -> tensor<4xi8>
  func.return
}
// expected-error @-3 {{qnn.reshape: reshape must keep the element type}}

// -----

func.func @f(%a: tensor<1x4xui8>) {
  %0 = qnn.reshape %a : (tensor<1x4xui8>) -> tensor<5xui8>
  func.return
}
// expected-error @-3 {{qnn.reshape: reshape from [1, 4] to [5] changes the element count}}

// -----
// qnn.transpose

func.func @f(%a: tensor<1x4x2xui8>) {
  %0 = qnn.transpose %a {perm = array<i64: 0, 2, 2>} : (tensor<1x4x2xui8>) -> tensor<1x2x2xui8>
  func.return
}
// expected-error @-3 {{qnn.transpose: perm [0, 2, 2] is not a permutation of 0..2}}

// -----

func.func @f(%a: tensor<1x4x2xui8>) {
  %0 = qnn.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<1x4x2xui8>) -> tensor<1x2x4xi8>
  func.return
}
// expected-error @-3 {{qnn.transpose: transpose must keep the element type}}

// -----

func.func @f(%a: tensor<1x4x2xui8>) {
  %0 = qnn.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<1x4x2xui8>) -> tensor<1x4x2xui8>
  func.return
}
// expected-error @-3 {{qnn.transpose: result shape [1, 4, 2] does not match the expected [1, 2, 4]}}

// -----
// qnn.slice

func.func @f(%a: tensor<2x4xui8>) {
  %0 = qnn.slice %a {offsets = array<i64: 1>} : (tensor<2x4xui8>) -> tensor<1x4xui8>
  func.return
}
// expected-error @-3 {{qnn.slice: offsets and result must have the input rank 2}}

// -----

func.func @f(%a: tensor<2x4xui8>) {
  %0 = qnn.slice %a {offsets = array<i64: 1, 2>} : (tensor<2x4xui8>) -> tensor<1x3xui8>
  func.return
}
// expected-error @-3 {{qnn.slice: slice at offsets [1, 2] with sizes [1, 3] leaves the input [2, 4]}}

// -----

func.func @f(%a: tensor<2x4xui8>) {
  %0 = qnn.slice %a {offsets = array<i64: 1, 0>} : (tensor<2x4xui8>) -> tensor<1x4xi8>
  func.return
}
// expected-error @-3 {{qnn.slice: slice must keep the element type}}
