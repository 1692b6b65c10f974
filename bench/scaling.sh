#!/usr/bin/env bash
# scaling.sh: one process x 2 threads against 2 MPI ranks x 1 thread, on full MNIST, at batch 64, 256 and 1024;
# then the time of one gradient allreduce. Prints a table; samples/s is the median over epochs 2..E of each run, and
# each configuration runs R times, alternating, so the machine's noise falls on both alike.
# usage: bench/scaling.sh [EPOCHS=6] [ROUNDS=3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
epochs=${1:-6}; rounds=${2:-3}
out=$(mktemp -d)
mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
"$root/kiln" --version >/dev/null # build once
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for round in $(seq "$rounds"); do
  for b in 64 256 1024; do
    "$root/kiln" train --device cpu --threads 2 --epochs "$epochs" -b "$b" -o "$out/p.safetensors" \
      --metrics "$out/proc-$b-$round.jsonl" >/dev/null 2>&1
    "${mpi[@]}" -np 2 "$root/kiln" train --device cpu --threads 1 --epochs "$epochs" -b "$b" -o "$out/r.safetensors" \
      --metrics "$out/ranks-$b-$round.jsonl" >/dev/null 2>&1
  done
done
printf '%-6s %-26s %-26s %s\n' batch "1 process x 2 threads" "2 ranks x 1 thread" "ranks/process"
for b in 64 256 1024; do
  p=$(cat "$out"/proc-"$b"-*.jsonl | python3 -c 'import sys,json; [print(json.loads(l)["samples_per_second"]) for l in sys.stdin if json.loads(l)["epoch"] > 1]' | median)
  r=$(cat "$out"/ranks-"$b"-*.jsonl | python3 -c 'import sys,json; [print(json.loads(l)["samples_per_second"]) for l in sys.stdin if json.loads(l)["epoch"] > 1]' | median)
  printf '%-6s %-26s %-26s %.2f\n' "$b" "$(printf "%'.0f samples/s" "$p")" "$(printf "%'.0f samples/s" "$r")" "$(echo "$r / $p" | bc -l)"
done
(cd "$root" && ./mvnw -q -B -DskipTests -pl bench -am package >/dev/null 2>&1) || true
source "$root/.mvn/jdk.sh"
"${mpi[@]}" -np 2 "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$root/bench/target/benchmarks.jar" dev.kiln.bench.AllreduceTimes 2>/dev/null
rm -rf "$out"
