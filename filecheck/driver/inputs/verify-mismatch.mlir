// Annotations that do not match what dory-opt reports (used by ../verify-diagnostics.mlir).

%0 = qnn.constant dense<1.0> : tensor<2xf32>
// expected-error @-1 {{a message nobody prints}}
// CHECK-DAG: verify-mismatch.mlir:4: expected error on line 3 was not produced: 'a message nobody prints'
// CHECK-DAG: verify-mismatch.mlir:3:{{[0-9]+}}: unexpected error: qnn.constant: value must have an integer element type, got f32

// -----

%0 = qnn.constant dense<3> : tensor<2xi8>
// expected-error @-1 {{this chunk is valid}}
// CHECK-DAG: verify-mismatch.mlir:11: expected error on line 10 was not produced: 'this chunk is valid'

// -----

%0 = "qnn.constant"() <{value = dense<1> : tensor<2xi8>}> : () -> tensor<3xi8>
// CHECK-DAG: verify-mismatch.mlir:16:{{[0-9]+}}: unexpected error: qnn.constant: result type tensor<3xi8>

// -----

%0 = qnn.constant dense<1.0> : tensor<2xf32> // expected-error @+2 {{value must have an integer element type}}
// CHECK-DAG: verify-mismatch.mlir:21: expected error on line 23 was not produced
// CHECK-DAG: verify-mismatch.mlir:21:{{[0-9]+}}: unexpected error: qnn.constant: value must have an integer
