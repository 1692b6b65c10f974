#!/usr/bin/env python3
"""Writes Kiln's golden file: an independent numpy implementation of a 784-25-25-10 ReLU MLP with softmax
cross-entropy, its logits, loss and every gradient on one fixed batch, and the parameters after 10 SGD steps
and after 10 Adam steps on that batch.

Run from the repository root (numpy only, float32 throughout):
    python3 engine/src/test/python/make_golden.py
Output, read by dev.kiln.engine.GoldenFileTest:
    engine/src/test/resources/golden/mlp784.bin    raw little-endian float32 arrays, one after another
    engine/src/test/resources/golden/mlp784.index  one line per array: name rows cols offset (in floats)
The flat parameter layout is Kiln's and PyTorch's nn.Sequential state-dict order: W0 (25,784) row-major, b0 (25),
W1 (25,25), b1, W2 (10,25), b2. Inputs are uint8 pixels scaled by 1/255 exactly as Kiln's gather does.
"""
import os
import numpy as np

F = np.float32
SIZES = [784, 25, 25, 10]
BATCH = 64
STEPS = 10
SGD_LR = F(0.1)
ADAM_LR, BETA1, BETA2, EPS = F(1e-3), F(0.9), F(0.999), F(1e-8)

rng = np.random.default_rng(20261128)
params = []  # [W0, b0, W1, b1, W2, b2]
for i, o in zip(SIZES[:-1], SIZES[1:]):
    bound = 1.0 / np.sqrt(i)  # nn.Linear's default ranges
    params.append(rng.uniform(-bound, bound, (o, i)).astype(F))
    params.append(rng.uniform(-bound, bound, (o,)).astype(F))
pixels = rng.integers(0, 256, (BATCH, SIZES[0]), dtype=np.uint8)
labels = rng.integers(0, SIZES[-1], BATCH)
x = pixels.astype(F) / F(255)


def forward_backward(p):
    """Returns logits, mean loss, and gradients in the order of p."""
    hs = [x]
    h = x
    n_layers = len(p) // 2
    for l in range(n_layers):
        z = h @ p[2 * l].T + p[2 * l + 1]
        h = np.maximum(z, F(0)) if l < n_layers - 1 else z
        hs.append(h)
    logits = hs[-1]
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(BATCH)
    loss = (np.log(s[:, 0]) - (logits[rows, labels] - m[:, 0])).sum(dtype=F) / F(BATCH)
    dz = e / s
    dz[rows, labels] -= F(1)
    dz /= F(BATCH)
    grads = [None] * len(p)
    for l in reversed(range(n_layers)):
        grads[2 * l] = dz.T @ hs[l]
        grads[2 * l + 1] = dz.sum(axis=0, dtype=F)
        if l > 0:
            dh = dz @ p[2 * l]
            dz = dh * (hs[l] > 0)  # no gradient for the network's input
    return logits, F(loss), grads


def flat(arrays):
    return np.concatenate([a.ravel() for a in arrays]).astype(F)


logits, loss, grads = forward_backward(params)
assert all(g.dtype == F for g in grads) and logits.dtype == F

sgd = [a.copy() for a in params]
sgd_losses = []
for _ in range(STEPS):
    _, l, g = forward_backward(sgd)
    sgd_losses.append(l)
    sgd = [a - SGD_LR * ga for a, ga in zip(sgd, g)]

adam = [a.copy() for a in params]
m = [np.zeros_like(a) for a in params]
v = [np.zeros_like(a) for a in params]
adam_losses = []
for t in range(1, STEPS + 1):  # Kingma and Ba 2015, Algorithm 1
    _, l, g = forward_backward(adam)
    adam_losses.append(l)
    bc1 = F(1) - BETA1 ** F(t)
    bc2 = F(1) - BETA2 ** F(t)
    for i in range(len(adam)):
        m[i] = BETA1 * m[i] + (F(1) - BETA1) * g[i]
        v[i] = BETA2 * v[i] + (F(1) - BETA2) * g[i] * g[i]
        adam[i] = adam[i] - ADAM_LR * (m[i] / bc1) / (np.sqrt(v[i] / bc2) + EPS)

q = sum(a.size for a in params)
out = [
    ("params0", 1, q, flat(params)),
    ("pixels", BATCH, SIZES[0], pixels.astype(F)),
    ("labels", BATCH, 1, labels.astype(F)),
    ("logits", BATCH, SIZES[-1], logits),
    ("loss", 1, 1, np.array([loss], F)),
    ("grads", 1, q, flat(grads)),
    ("sgd_losses", 1, STEPS, np.array(sgd_losses, F)),
    ("sgd_params", 1, q, flat(sgd)),
    ("adam_losses", 1, STEPS, np.array(adam_losses, F)),
    ("adam_params", 1, q, flat(adam)),
]
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, "..", "resources", "golden")
os.makedirs(target, exist_ok=True)
offset = 0
with open(os.path.join(target, "mlp784.bin"), "wb") as b, open(os.path.join(target, "mlp784.index"), "w") as ix:
    ix.write("# name rows cols offset(floats): raw little-endian float32 in mlp784.bin, from make_golden.py\n")
    for name, r, c, a in out:
        a = np.ascontiguousarray(a, dtype="<f4").ravel()
        assert a.size == r * c, name
        b.write(a.tobytes())
        ix.write(f"{name} {r} {c} {offset}\n")
        offset += a.size
print(f"wrote {offset} floats ({4 * offset} bytes); loss {loss:.6f}, sgd losses {sgd_losses[0]:.4f} -> {sgd_losses[-1]:.4f}")
