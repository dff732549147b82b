"""ONNX export: a minigrad model as an .onnx file that ONNX Runtime and other tools run.

import minigrad.onnx
minigrad.onnx.export(model, minigrad.randn(1, 1, 28, 28), "lenet5.onnx")

The forward pass is traced on the example input: every op it applies is written as ONNX
nodes, parameters and buffers become initializers named by their state_dict keys. The
``onnx`` package is needed only here (``pip install "minigrad[onnx]"``); importing
minigrad never imports it.
"""

from minigrad.onnx._exporter import SUPPORTED_OPS, UnsupportedOperatorError, export

__all__ = ["export", "UnsupportedOperatorError", "SUPPORTED_OPS"]
