// RUN: dory-opt %s -p convert-qnn-to-dory -t gap8-c | filecheck %s

// Constants feeding L2 data ops, printed (see convert-qnn-to-dory.mlir for the IR): a block of equal
// elements is an element loop storing the value (no bytes in weights.bin), other data is a global
// read from L3 (or the L2 array with DORY_WEIGHTS_L2) like a layer parameter.
func.func @main(%x: tensor<1x2x3x4xui8>) -> (tensor<1x6x3x4xui8>, tensor<1x2x2xi8>, tensor<2xui8>) {
  %a = qnn.constant dense<211> : tensor<1x1x3x4xui8>
  %b = qnn.constant dense<[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]]> : tensor<2x3x4xui8>
  %r = qnn.reshape %b : (tensor<2x3x4xui8>) -> tensor<1x2x3x4xui8>
  %c = qnn.concat %a, %x, %a, %r {axis = 1 : i64} : (tensor<1x1x3x4xui8>, tensor<1x2x3x4xui8>, tensor<1x1x3x4xui8>, tensor<1x2x3x4xui8>) -> tensor<1x6x3x4xui8>
  %o = qnn.constant dense<-3> : tensor<1x2x2xi8>
  %p = qnn.constant dense<[1, 9]> : tensor<2xui8>
  func.return %c, %o, %p : tensor<1x6x3x4xui8>, tensor<1x2x2xi8>, tensor<2xui8>
}

// Only the two non-uniform constants are in weights.bin: 24 B at 0, 2 B at 24.
// CHECK: #define NETWORK_WEIGHTS_BYTES 26
// CHECK: // ===== network.c =====
// CHECK: void network_run_cluster(void *arg)
// CHECK:      #ifdef DORY_WEIGHTS_L2
// CHECK-NEXT:     uint8_t *[[G:par[0-9]+]] = network_weights + 0; /* constant0 */
// CHECK-NEXT: #else
// CHECK-NEXT:     uint8_t *[[G]] = l2 + {{[0-9]+}};
// CHECK-NEXT:     dory_l3_read(net, 0, [[G]], 24); /* constant0 */
// CHECK-NEXT: #endif
// CHECK-NEXT:     uint8_t *[[R:buf[0-9]+]] = l2 + {{[0-9]+}};
// CHECK-NEXT:     dory_copy([[R]], [[G]], 24);
// The zero-point block: 12 bytes set to 211, then concatenated twice.
// CHECK-NEXT:     uint8_t *[[PAD:buf[0-9]+]] = l2 + {{[0-9]+}};
// CHECK-NEXT:     for (uint32_t d0 = 0; d0 < 12; d0++) {
// CHECK-NEXT:         ((uint8_t *)[[PAD]])[d0] = 211;
// CHECK-NEXT:     }
// CHECK:          ((uint8_t *)output0)[0 + {{.*}}] = ((uint8_t *)[[PAD]])[0 + {{.*}}];
// CHECK:          ((uint8_t *)output0)[12 + {{.*}}] = ((uint8_t *)input0)[0 + {{.*}}];
// CHECK:          ((uint8_t *)output0)[36 + {{.*}}] = ((uint8_t *)[[PAD]])[0 + {{.*}}];
// CHECK:          ((uint8_t *)output0)[48 + {{.*}}] = ((uint8_t *)[[R]])[0 + {{.*}}];
// A signed constant output is filled in place.
// CHECK:          for (uint32_t d0 = 0; d0 < 4; d0++) {
// CHECK-NEXT:         ((int8_t *)output1)[d0] = -3;
// CHECK-NEXT:     }
// CHECK:          dory_l3_read(net, 24, [[P:par[0-9]+]], 2); /* constant1 */
// CHECK:          dory_copy(output2, [[P]], 2);
// CHECK: // ===== weights.c =====
// CHECK: ".incbin \"weights.bin\"\n"
// CHECK: // ===== weights.bin ===== 26 bytes
// CHECK-NEXT: 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x01, 0x02, 0x03, 0x04,
