#!/usr/bin/env python3
"""Kiln only, base against new, alternating, back to back: median of epochs 2..E over all runs per build."""
import json, os, statistics, subprocess, sys, time
BUILDS = {"base": "/tmp/i16-base-src", "new": "/tmp/i16-new-src"}
configs = [("784,25,25,10", 1024, 8, 8)]
out = {}
for layers, batch, epochs, runs in configs:
    times = {b: [] for b in BUILDS}
    for i in range(runs):
        for b in (["base", "new"] if i % 2 == 0 else ["new", "base"]):
            m = f"/tmp/i16-ab-{b}.jsonl"
            if os.path.exists(m): os.remove(m)
            subprocess.run([BUILDS[b] + "/kiln", "train", "--layers", layers, "-b", str(batch), "--epochs", str(epochs),
                            "--device", "cpu", "--metrics", m, "-o", f"/tmp/i16-ab-{b}.safetensors"],
                           capture_output=True, check=True)
            ep = [json.loads(l) for l in open(m) if l.startswith("{")]
            times[b].extend(e["epoch_seconds"] for e in ep[1:])
    row = {b: statistics.median(t) for b, t in times.items()}
    out[f"{layers}:{batch}"] = {"median": row, "epochs": times}
    print(f"{layers} batch {batch}: base {row['base']:.4f} s, new {row['new']:.4f} s, new/base {row['new']/row['base']:.3f} "
          f"({len(times['base'])} epochs each; min {min(times['base']):.4f} / {min(times['new']):.4f}; load {os.getloadavg()[0]:.1f})", flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
