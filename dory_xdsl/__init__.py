"""dory-xdsl: quantized neural networks for GAP-8 class microcontrollers, on xDSL."""
