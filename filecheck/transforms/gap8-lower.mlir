// RUN: dory-opt %s -p 'gap8-lower{l1-bytes=1400}' | filecheck %s

// The whole back end on imported (unfused, NCHW) IR: conv + requant become one tiled PULP-NN
// conv layer function; the NCHW signature of @main is kept.
func.func @main(%x: tensor<1x4x8x8xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x4x3x3xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %a = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>
  %r = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 5, clip = [0, 255]>, axis = 1 : i64} : (tensor<1x8x8x8xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x8x8xui8>
  func.return %r : tensor<1x8x8x8xui8>
}

// CHECK:      func.func @layer0_{{.*}}(%{{.*}}: memref<1400xi8>, {{.*}}: memref<1x8x8x4xui8>, {{.*}}: memref<8x3x3x4xi8>
// CHECK-SAME: dory.kernel = "pulp_nn_conv_Ho_parallel"
// CHECK:      dory.conv
// CHECK-SAME: ch_in = 4
// CHECK-SAME: flag_batch_norm = 1
// CHECK:      func.func @main(%{{.*}}: memref<1x4x8x8xui8>, %{{.*}}: memref<1x8x8x8xui8>)
// CHECK-NOT:  qnn.
