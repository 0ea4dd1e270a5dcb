"""The plate verifier's training: windows cut around what the detector finds, a small CNN, ONNX export."""
