#!/usr/bin/env python3
"""torch_peer.py: the PyTorch eager peer Kiln's GPU training is measured against.

Trains 784-25-25-10 and 784-1024-1024-10 ReLU MLPs with Adam (lr 1e-3) on MNIST on one GPU, at batch 64 and 1024,
with the data preloaded on the GPU as float tensors (pixels / 255), as Kiln does. Per configuration: one warm-up
epoch, then 3 timed epochs (median reported, torch.cuda.synchronize before each clock read), then test accuracy.
Prints one JSON object per configuration and a table; exits 2 when torch or a GPU is missing.

Usage: python3 bench/gpu/torch_peer.py --data-dir .device/mnist [--json out.jsonl]
"""
import argparse
import glob
import gzip
import json
import os
import statistics
import sys
import time


def idx(path):
    """An IDX file (MNIST's format), gzipped or not, as (dims, raw bytes)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return dims, data[4 + 4 * ndim:]


def find(data_dir, *words):
    for f in sorted(glob.glob(os.path.join(data_dir, "*"))):
        name = os.path.basename(f)
        if all(w in name for w in words):
            return f
    raise SystemExit(f"torch_peer: no MNIST file with {words} in {data_dir}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--json", help="append one JSON line per configuration here")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up (default 3)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("torch_peer: PyTorch is not installed", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("torch_peer: PyTorch sees no GPU", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # FP32 GEMMs, as Kiln's default
    torch.backends.cudnn.allow_tf32 = False

    def load(kind):
        (n, rows, cols), px = idx(find(args.data_dir, kind, "images"))
        (_,), lb = idx(find(args.data_dir, kind, "labels"))
        x = torch.frombuffer(bytearray(px), dtype=torch.uint8).reshape(n, rows * cols).to(dev).float().div_(255)
        y = torch.frombuffer(bytearray(lb), dtype=torch.uint8).to(dev).long()
        return x, y

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    results = []
    for hidden in (25, 1024):
        for batch in (64, 1024):
            torch.manual_seed(42)
            model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                        torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).to(dev)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            lossf = torch.nn.CrossEntropyLoss()
            n = xtr.shape[0]

            def epoch():
                perm = torch.randperm(n, device=dev)
                for s in range(0, n, batch):
                    idx_ = perm[s:s + batch]
                    opt.zero_grad(set_to_none=True)
                    loss = lossf(model(xtr[idx_]), ytr[idx_])
                    loss.backward()
                    opt.step()
                return loss

            epoch()  # warm-up: cuBLAS heuristics, allocator, kernel loading
            times = []
            for _ in range(args.epochs):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                last = epoch()
                torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            with torch.no_grad():
                acc = (model(xte).argmax(1) == yte).float().mean().item()
            r = {"peer": "torch-eager", "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0),
                 "net": f"784-{hidden}-{hidden}-10", "batch": batch, "epoch_s_median": statistics.median(times),
                 "epoch_s": times, "samples_per_s": n / statistics.median(times), "last_loss": last.item(),
                 "test_accuracy": acc, "epochs_trained": 1 + args.epochs}
            results.append(r)
            print(json.dumps(r), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(r) + "\n")
    print(f"{'net':<20} {'batch':>6} {'epoch s (median)':>17} {'samples/s':>12} {'test acc':>9}")
    for r in results:
        print(f"{r['net']:<20} {r['batch']:>6} {r['epoch_s_median']:>17.3f} {r['samples_per_s']:>12.0f} {r['test_accuracy']:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
