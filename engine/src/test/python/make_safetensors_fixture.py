#!/usr/bin/env python3
"""Writes engine/src/test/resources/dev/kiln/engine/checkpoint/numpy_fixture.safetensors, a tiny safetensors file
made by a writer independent of Kiln's (only the stdlib and numpy), so SafeTensorsTest can check that Kiln reads
what other tools write. Re-run from the repository root after changing it: python3 engine/src/test/python/make_safetensors_fixture.py

Contents (the Java test asserts them):
  "0.weight": shape [2, 3], values arange(6) * 0.5 - 1
  "0.bias":   shape [3],    values [1e-3, -2.5, 3.25]
  "scale":    shape [],     value 42.0
  "empty":    shape [0, 4], no values
  __metadata__: {"format": "pt", "note": "caf\u00e9 \"quoted\""}
The header is written with json.dumps defaults (spaces after separators, non-ASCII as \\uXXXX escapes),
tensors in sorted-name order, padded with spaces to a multiple of 8 as the spec recommends.
"""
import json
import os
import struct

import numpy as np

tensors = {
    "0.weight": np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5) - np.float32(1),
    "0.bias": np.array([1e-3, -2.5, 3.25], dtype=np.float32),
    "scale": np.array(42.0, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
}

header = {"__metadata__": {"format": "pt", "note": "caf\u00e9 \"quoted\""}}
data = b""
for name in sorted(tensors):
    raw = tensors[name].astype("<f4").tobytes(order="C")
    header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw

text = json.dumps(header).encode("utf-8")
text += b" " * (-len(text) % 8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "dev", "kiln", "engine",
                   "checkpoint", "numpy_fixture.safetensors")
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    f.write(data)
print(os.path.normpath(out))
