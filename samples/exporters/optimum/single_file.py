#!/usr/bin/env python3
"""Re-save an ONNX model as one file (initializers inline, no .onnx_data): single_file.py IN OUT"""
import sys

import onnx

m = onnx.load(sys.argv[1], load_external_data=True)
onnx.save(m, sys.argv[2], save_as_external_data=False)
onnx.checker.check_model(sys.argv[2])
print("wrote", sys.argv[2])
