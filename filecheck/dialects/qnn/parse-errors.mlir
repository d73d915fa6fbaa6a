// RUN: dory-opt %s --split-input-file --parsing-diagnostics | filecheck %s

// Syntax errors in qnn's custom forms point at the offending text.

%0 = qnn.constant array<i64: 1, 2>
// CHECK: parse-errors.mlir:5:19
// CHECK: qnn.constant expects dense integer elements (dense<...> : tensor<...>), got array<i64: 1, 2>

// -----

%0 = "test.op"() {a = #qnn.requant<shift = 3, clip = 0>} : () -> i32
// CHECK: Expected '['

// -----

%0 = "test.op"() {a = #qnn.requant<clip = [0, 1]>} : () -> i32
// CHECK: Expected 'shift'
