// RUN: dory-opt %s --split-input-file --verify-diagnostics | filecheck %s
// RUN: not dory-opt %S/inputs/verify-mismatch.mlir --split-input-file --verify-diagnostics 2>&1 \
// RUN:   | filecheck %S/inputs/verify-mismatch.mlir

// dory-opt --verify-diagnostics checks `expected-error {{...}}` annotations as mlir-opt does: the
// diagnostic must be reported on the annotated line (@+N / @-N move it) and contain the text;
// chunks that verify are printed. The mismatching file must fail with one line per problem.

func.func @f(%a: tensor<4xi32>, %k: tensor<4xi32>) {
  // expected-error @+1 {{qnn.requant: requant shift 64 is not in [0, 63]}}
  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 64, clip = [0, 255]>, axis = 0 : i64} : (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<4xui8>
  func.return
}

// -----

%0 = "qnn.constant"() <{value = dense<1> : tensor<2xi8>}> : () -> tensor<3xi8> // expected-error {{does not match the value type}}

// -----

%0 = qnn.constant dense<1.0> : tensor<2xf32>
// expected-error @-1 {{qnn.constant: value must have an integer element type, got f32}}

// -----

%0 = qnn.constant dense<3> : tensor<2xi8>
// CHECK: qnn.constant dense<3> : tensor<2xi8>
