#!/usr/bin/env python3
"""Kiln against PyTorch and numpy on this machine, side by side, in one run.

Trains the same network on the same MNIST data with the same batch size and optimizer (Adam, lr 1e-3) in Kiln
(`./kiln train --device cpu`), in PyTorch (Debian's python3-torch on OpenBLAS) and in plain numpy, alternating the
three per configuration (two rounds by default), and prints epoch time (median of the epochs after each run's
warm-up, over all rounds), samples/s and Kiln's ratio
to each, plus this machine's SGEMM rate measured by numpy on 2048^3 in the same run.

  bench/compare.py [--epochs 6] [--rounds 2] [--device cpu] [--configs 784,25,25,10:64 ...] [--out bench/results/NAME]

Fair to the peers, as a user who tuned them would be: data preloaded as float32 arrays, no DataLoader;
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for them (they halve OpenBLAS on this AVX-512 CPU); OpenBLAS and
torch threads split so they do not fight (seed net: 1 OpenBLAS x 2 torch; wide net: 2 OpenBLAS x 1 torch).
"""
import argparse, datetime, json, os, platform, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "bench", "peers", "peer.py")
DEFAULT_CONFIGS = ["784,25,25,10:64", "784,25,25,10:256", "784,25,25,10:1024", "784,1024,1024,10:256"]
TORCH_PYTHON = "/usr/bin/python3"  # Debian's python3-torch lives there, not in pyenv


def ensure_torch():
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True)
    if probe.returncode == 0:
        return True
    print("compare: installing python3-torch and libopenblas0-pthread from Debian (once) ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "python3-torch", "libopenblas0-pthread"],
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    return subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def peer_env(openblas_threads):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["OPENBLAS_NUM_THREADS"] = str(openblas_threads)
    env["OMP_NUM_THREADS"] = str(openblas_threads)
    return env


def epochs_of(lines):
    return [json.loads(l) for l in lines if l.startswith("{")]


def run_kiln(layers, batch, epochs, data_dir, device, tmp):
    metrics = os.path.join(tmp, "kiln-metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    cmd = [os.path.join(ROOT, "kiln"), "train", "--layers", layers, "--batch-size", str(batch), "--epochs", str(epochs),
           "--device", device, "--metrics", metrics, "--checkpoint", os.path.join(tmp, "bench.safetensors"),
           "--data-dir", data_dir]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("kiln failed: " + (p.stderr.strip().splitlines() or ["?"])[-1])
    with open(metrics) as f:
        return epochs_of(f.read().splitlines())


def run_peer(engine, layers, batch, epochs, data_dir):
    wide = max(int(s) for s in layers.split(",")) > 100
    openblas, torch_threads = (2, 1) if wide else (1, 2)
    python = TORCH_PYTHON if engine == "torch" else sys.executable
    if engine == "numpy":
        openblas = os.cpu_count() or 2
    cmd = [python, PEER, "--engine", engine, "--layers", layers, "--batch", str(batch), "--epochs", str(epochs),
           "--data-dir", data_dir, "--threads", str(torch_threads)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=peer_env(openblas))
    if p.returncode != 0:
        raise RuntimeError(engine + " failed: " + (p.stderr.strip().splitlines() or ["?"])[-1])
    return epochs_of(p.stdout.splitlines())


def sgemm_rate():
    code = ("import numpy as np, time\n"
            "a=np.random.rand(2048,2048).astype(np.float32); b=np.random.rand(2048,2048).astype(np.float32)\n"
            "a@b\nts=[]\n"
            "for _ in range(5):\n t=time.perf_counter(); a@b; ts.append(time.perf_counter()-t)\n"
            "ts.sort(); print(2*2048**3/ts[2]/1e9)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=peer_env(os.cpu_count() or 2))
    return float(p.stdout.strip()) if p.returncode == 0 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Kiln's JIT keeps compiling into the second epoch of the seed net (at batch 1024, an epoch is 59 steps), so the
    # default times five epochs after the warm-up: the median then is a settled epoch for every engine. Kiln's first
    # epoch is shown in its own column, and the JSON keeps every timed epoch.
    ap.add_argument("--epochs", type=int, default=6, help="epochs per run; the first is the warm-up (default 6)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating rounds of every engine per configuration; times are the median over all (default 2)")
    ap.add_argument("--device", default="cpu", help="Kiln's device (default cpu)")
    ap.add_argument("--configs", nargs="*", default=DEFAULT_CONFIGS, help="layers:batch ...")
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default: Kiln's cache, fetched if missing)")
    ap.add_argument("--out", default=None, help="write NAME.json and NAME.md (default bench/results/compare-DATE)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = ap.parse_args()
    if args.epochs < 2:
        sys.exit("compare: --epochs must be at least 2 (one warm-up, then timed epochs)")
    if args.rounds < 1:
        sys.exit("compare: --rounds must be at least 1")

    data_dir = args.data_dir
    if data_dir is None:
        subprocess.run([os.path.join(ROOT, "kiln"), "data", "fetch"], check=True, stdout=subprocess.DEVNULL)
        home = os.environ.get("KILN_HOME", os.path.expanduser("~/.cache/kiln"))
        data_dir = os.path.join(home, "mnist")
    engines = ["kiln", "numpy"] + ([] if args.no_torch or not ensure_torch() else ["pytorch"])
    tmp = os.path.join(ROOT, "bench", "target")
    os.makedirs(tmp, exist_ok=True)

    gflops = sgemm_rate()
    rows = []
    for config in args.configs:
        layers, batch = config.split(":")
        batch = int(batch)
        timed, last, first = {}, {}, {}
        for _ in range(args.rounds):
            for engine in engines:  # alternate: every engine once per round, in turn
                try:
                    if engine == "kiln":
                        ep = run_kiln(layers, batch, args.epochs, data_dir, args.device, tmp)
                    else:
                        ep = run_peer("torch" if engine == "pytorch" else "numpy", layers, batch, args.epochs, data_dir)
                    timed.setdefault(engine, []).extend(e["epoch_seconds"] for e in ep[1:])
                    last[engine] = ep[-1].get("test_accuracy")
                    first.setdefault(engine, []).append(ep[0]["epoch_seconds"])
                except Exception as e:  # one engine failing must not hide the others' numbers
                    print(f"compare: {layers} batch {batch}: {e}", file=sys.stderr)
        # the median over every round's timed epochs: a burst of noise on this shared machine moves one round
        medians = {e: (statistics.median(t), last[e], statistics.median(first[e])) for e, t in timed.items()}
        row = {"layers": layers, "batch": batch}
        for engine, (sec, acc, first) in medians.items():
            row[engine] = {"epoch_seconds": sec, "samples_per_second": 60000 / sec, "test_accuracy": acc,
                           "first_epoch_seconds": first, "timed_epochs": [round(t, 4) for t in timed[engine]]}
        rows.append(row)
        print(f"  {layers} batch {batch}: " + ", ".join(f"{k} {v[0]:.3f} s" for k, v in medians.items()), file=sys.stderr)

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    cpu = cpu_model()
    lines = [f"Kiln vs peers, {when}, {cpu}, {os.cpu_count()} cores; numpy SGEMM 2048^3: {gflops:.0f} GFLOP/s",
             f"epoch time = median of {args.rounds} x {args.epochs - 1} epochs ({args.rounds} alternating runs of each engine,"
             f" each after a warm-up epoch); Kiln on --device {args.device}",
             "",
             "| network | batch | " + " | ".join(f"{e} s/epoch" for e in engines) + " | kiln samples/s | "
             + " | ".join(f"kiln vs {e}" for e in engines if e != "kiln") + " | kiln epoch 1 s |",
             "|---|---:|" + "---:|" * (len(engines) * 2 + 1)]
    for r in rows:
        cells = [r["layers"], str(r["batch"])]
        cells += [f"{r[e]['epoch_seconds']:.3f}" if e in r else "failed" for e in engines]
        cells.append(f"{r['kiln']['samples_per_second']:,.0f}" if "kiln" in r else "-")
        for e in engines:
            if e != "kiln":
                ok = "kiln" in r and e in r
                cells.append(f"{r[e]['epoch_seconds'] / r['kiln']['epoch_seconds']:.2f}x" if ok else "-")
        cells.append(f"{r['kiln']['first_epoch_seconds']:.2f}" if "kiln" in r else "-")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    out = args.out or os.path.join(ROOT, "bench", "results", "compare-" + datetime.date.today().isoformat())
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".md", "w") as f:
        f.write(table + "\n")
    with open(out + ".json", "w") as f:
        json.dump({"date": when, "machine": cpu, "cores": os.cpu_count(), "sgemm_gflops": gflops,
                   "epochs": args.epochs, "rounds": args.rounds, "device": args.device, "rows": rows}, f, indent=1)
    with open(out + ".tsv", "w") as f:  # for `kiln bench --peers FILE.tsv --report DIR`
        f.write("network\tbatch\tengine\tsamples_per_second\tepoch_seconds\n")
        for r in rows:
            for e in engines:
                if e in r and e != "kiln":
                    f.write(f"{r['layers']}\t{r['batch']}\t{e}\t{r[e]['samples_per_second']:.1f}\t{r[e]['epoch_seconds']:.6f}\n")
    print(f"\nwritten: {out}.md, {out}.json, {out}.tsv", file=sys.stderr)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
