#!/usr/bin/env python3
"""The peers Kiln is compared with: the same MLP, data, batch size and optimizer, in PyTorch or plain numpy.

Trains on MNIST preloaded as float32 arrays (no DataLoader: that is how a user who tuned it would run it),
Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), PyTorch nn.Linear initialisation, and prints one JSON line per epoch:
{"engine": ..., "epoch": n, "epoch_seconds": s, "samples_per_second": r, "train_loss": l, "test_accuracy": a}.

  peer.py --engine torch|numpy --data-dir DIR [--layers 784,25,25,10] [--batch 64] [--epochs 4]
          [--threads N] [--device cpu|cuda] [--limit N]
"""
import argparse, gzip, json, math, os, struct, sys, time

import numpy as np


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(data_dir, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(data_dir, candidate)
        if os.path.exists(p):
            return p
    sys.exit(f"peer: {data_dir} has no {name} or {name}.gz")


def load(data_dir, limit):
    x = read_idx(find(data_dir, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(find(data_dir, "train-labels-idx1-ubyte")).astype(np.int64)
    xt = read_idx(find(data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    yt = read_idx(find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64)
    if limit:
        x, y, xt, yt = x[:limit], y[:limit], xt[:limit], yt[:limit]
    return x, y, xt, yt


def report(engine, epoch, seconds, n, loss, acc):
    print(json.dumps({"engine": engine, "epoch": epoch, "epoch_seconds": round(seconds, 6),
                      "samples_per_second": round(n / seconds, 1), "train_loss": round(float(loss), 6),
                      "test_accuracy": round(float(acc), 6)}), flush=True)


def run_torch(args, sizes, x, y, xt, yt):
    import torch
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    XT, YT = torch.from_numpy(xt).to(dev), torch.from_numpy(yt).to(dev)
    n, b = X.shape[0], args.batch
    g = torch.Generator(device="cpu").manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n, generator=g).to(dev)
        total = torch.zeros((), device=dev)
        sync(dev)
        t0 = time.perf_counter()
        for s in range(0, n, b):
            idx = perm[s:s + b]
            out = model(X[idx])
            loss = loss_fn(out, Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        sync(dev)
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            acc = (model(XT).argmax(1) == YT).float().mean().item()
        report("pytorch", epoch, seconds, n, total.item() / n, acc)


def sync(dev):
    import torch
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run_numpy(args, sizes, x, y, xt, yt):
    rng = np.random.default_rng(args.seed)
    params = []  # [W (O, I), b (O)] per layer, PyTorch's nn.Linear default initialisation
    for i in range(len(sizes) - 1):
        bound = 1.0 / math.sqrt(sizes[i])
        params.append(rng.uniform(-bound, bound, (sizes[i + 1], sizes[i])).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (sizes[i + 1],)).astype(np.float32))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps, lr, t = np.float32(0.9), np.float32(0.999), np.float32(1e-8), np.float32(1e-3), 0
    n, bsz, layers = x.shape[0], args.batch, len(sizes) - 1

    def forward(xb):
        hs = [xb]
        for l in range(layers):
            z = hs[-1] @ params[2 * l].T + params[2 * l + 1]
            hs.append(np.maximum(z, 0) if l < layers - 1 else z)
        return hs

    for epoch in range(1, args.epochs + 1):
        perm = rng.permutation(n)
        total = 0.0
        t0 = time.perf_counter()
        for s in range(0, n, bsz):
            idx = perm[s:s + bsz]
            xb, yb = x[idx], y[idx]
            hs = forward(xb)
            z = hs[-1]
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            rows = np.arange(len(idx))
            total += float(-np.log(p[rows, yb] + 1e-30).sum())
            dz = p
            dz[rows, yb] -= 1
            dz /= len(idx)
            grads = [None] * len(params)
            for l in range(layers - 1, -1, -1):
                grads[2 * l] = dz.T @ hs[l]
                grads[2 * l + 1] = dz.sum(axis=0)
                if l > 0:
                    dz = (dz @ params[2 * l]) * (hs[l] > 0)
            t += 1
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            for i, g in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                params[i] -= lr * (m[i] / c1) / (np.sqrt(v[i] / c2) + eps)
        seconds = time.perf_counter() - t0
        acc = float((forward(xt)[-1].argmax(axis=1) == yt).mean())
        report("numpy", epoch, seconds, n, total / n, acc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["torch", "numpy"], required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--layers", default="784,25,25,10")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    sizes = [int(s) for s in args.layers.split(",")]
    data = load(args.data_dir, args.limit)
    (run_torch if args.engine == "torch" else run_numpy)(args, sizes, *data)


if __name__ == "__main__":
    main()
