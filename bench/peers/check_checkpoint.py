#!/usr/bin/env python3
"""Loads a Kiln checkpoint into torch.nn.Sequential(Linear, ReLU, ..., Linear) with load_state_dict and prints
its MNIST test accuracy, so it can be compared with `kiln eval` (numpy does the same when torch is missing).

  check_checkpoint.py FILE.safetensors DATA_DIR
Reads safetensors with the standard library (the format is 8 bytes of header length, a JSON header, raw data),
so it needs neither the safetensors package nor Kiln.
"""
import json, os, struct, sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import find, read_idx  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n, = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return tensors, meta


def main():
    path, data_dir = sys.argv[1], sys.argv[2]
    tensors, meta = read_safetensors(path)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    x = read_idx(find(data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64)
    layers = len(weights) // 2
    try:
        import torch
        mods = []
        for l in range(layers):
            o, i = weights[f"{2 * l}.weight"].shape
            mods.append(torch.nn.Linear(i, o))
            if l < layers - 1:
                mods.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*mods)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        with torch.no_grad():
            pred = model(torch.from_numpy(x)).argmax(1).numpy()
        engine = f"torch {torch.__version__} nn.Sequential.load_state_dict"
    except ImportError:
        h = x
        for l in range(layers):
            h = h @ weights[f"{2 * l}.weight"].T + weights[f"{2 * l}.bias"]
            if l < layers - 1:
                h = np.maximum(h, 0)
        pred = h.argmax(1)
        engine = "numpy"
    correct = int((pred == y).sum())
    print(f"{engine}: {path} ({meta.get('layers', '?')}) accuracy {100 * correct / len(y):.2f}% ({correct}/{len(y)})")


if __name__ == "__main__":
    main()
