#!/usr/bin/env bash
# bench/gpu/check.sh: every GPU check and measurement in one run, for the GPU machine (see shared/device/README.md).
#
# Stages, each reported and none stopping the others: the GPU and driver (nvidia-smi), where cuBLAS is,
# `kiln devices --check` (every op against the CPU reference), the seed network 10 epochs on the GPU, a --validate
# run, eval on the GPU, the same training on the CPU, resuming each checkpoint on the other device, the PyTorch
# eager peer on the same card (bench/gpu/torch_peer.py), then `kiln bench` CPU against GPU. Prints one
# table at the end; full logs go to $OUT when set (else a temporary folder). Exit status: 0 when every stage that
# ran passed, 1 otherwise. Runs anywhere: without a GPU it says so and still runs the CPU parts.
#
# Time: the whole script stays within KILN_CHECK_BUDGET_S seconds (default 480, under the device's 600 s per
# command): each stage's timeout is cut to what is left, and stages that no longer fit are skipped, so the table
# always prints. A GPU run that fell back from CUDA graphs to eager steps (GraphReplay's warning) is marked in
# the table and fails the check: it is a bug to fix, even though the numbers are right.
# The device machine's copy of the tree has no .git: pass the commit as KILN_COMMIT=$(git rev-parse --short HEAD).
#
# Rehearsal without a GPU: KILN_CUDA_STANDIN=kernels/target/standin runs every stage against the tests' CPU
# stand-in of the CUDA driver and cuBLAS (built by ./test), on a subset of MNIST (KILN_CHECK_LIMIT, default 3000
# there) and without the speed stages: it proves the script and the Java side, and its numbers are not GPU numbers.
#
# Usage (GPU machine): tar xzf .device/jre.tgz -C .device && export PATH=$PWD/.device/jre/bin:$PATH &&
#                      KILN_COMMIT=<git rev-parse --short HEAD, here> bash bench/gpu/check.sh
# Usage (here):        bash bench/gpu/check.sh   (uses cli/target/kiln.jar and the JDK 25 it finds)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
logs="${OUT:-$(mktemp -d /tmp/kiln-gpu-check.XXXXXX)}"
mkdir -p "$logs"
jar="${KILN_JAR:-}"
[[ -z $jar && -f .device/kiln.jar ]] && jar=.device/kiln.jar
[[ -z $jar ]] && jar=cli/target/kiln.jar
java="java"
if [[ -x .device/jre/bin/java ]]; then java=.device/jre/bin/java
elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then java=$JAVA_HOME/bin/java
elif [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then java=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
fi
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
data="${KILN_MNIST:-.device/mnist}"
standin="${KILN_CUDA_STANDIN:-}"
limit=()
epochs=10
if [[ -n $standin ]]; then
  export KILN_CUDA_DRIVER="$standin/libcuda.so.1" KILN_CUBLAS="$standin/libcublas.so.13"
  limit=(--limit "${KILN_CHECK_LIMIT:-3000}")
  epochs=2
elif [[ -n ${KILN_CHECK_LIMIT:-} ]]; then
  limit=(--limit "$KILN_CHECK_LIMIT")
fi
rows=()
failed=0
budget=${KILN_CHECK_BUDGET_S:-480}
began=$(date +%s)
graph_note='CUDA graph capture failed' # GraphReplay.FALLBACK_NOTE, printed as a warning: line

# stage NAME TIMEOUT_S CMD...: runs CMD with its output in $logs/NAME.log, echoes it, records a table row.
stage() {
  local name=$1 limit=$2; shift 2
  local log="$logs/$name.log" start end rc left
  left=$((budget - ($(date +%s) - began)))
  if ((left < 15)); then skip "$name" "out of time (KILN_CHECK_BUDGET_S=$budget)"; failed=1; return; fi
  ((limit > left)) && limit=$left
  echo "=== $name: $*"
  start=$(date +%s.%N)
  if declare -F "$1" >/dev/null; then
    "$@" >"$log" 2>&1 # a function of this script: quick, and timeout cannot run it
  else
    timeout "$limit" "$@" >"$log" 2>&1
  fi
  rc=$?
  end=$(date +%s.%N)
  cat "$log"
  local secs; secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  local status="ok"
  if ((rc == 124)); then status="TIMEOUT after ${limit}s"; failed=1
  elif ((rc != 0)); then status="FAIL (exit $rc)"; failed=1; fi
  if grep -q "$graph_note" "$log"; then status="$status, NO GRAPH"; failed=1; fi
  rows+=("$name|$status|$secs s|$(summary "$name" "$log")")
}

skip() { echo "=== $1: skipped: $2"; rows+=("$1|skipped|-|$2"); }

# One line per stage for the table, from its log.
summary() {
  case $1 in
    gpu) head -n 1 "$2" ;;
    cublas) grep -m1 -E 'cuBLAS [0-9]|^no libcublas' "$2" || tail -n 1 "$2" ;;
    devices-check) grep -m1 -E '^check:' "$2" || tail -n 1 "$2" ;;
    agree) grep -m1 -E 'DIFFER|missing' "$2" || echo "graph = eager, gpu = cpu" ;;
    train|train-small|train-sync|cpu-train|resume-on-*|validate) grep -E '^done|^epoch|^kiln:' "$2" | tail -n 1 ;;
    eval-on-gpu) grep -m1 -E 'accuracy|^kiln:' "$2" ;;
    bench) grep -E '^kiln [a-z]' "$2" | awk '{ printf "%s %s b%s %s s; ", $2, $3, $5, $6 }' ;;
    torch-peer) grep -E '^784-' "$2" | awk '{ printf "%s b%s %ss/epoch acc %s; ", $1, $2, $3, $5 }' ;;
    *) tail -n 1 "$2" ;;
  esac
}

gpu_info() {
  if [[ -n $standin ]]; then
    echo "CPU stand-in of the CUDA driver and cuBLAS (NOT a GPU): $KILN_CUDA_DRIVER"
    [[ -f $KILN_CUDA_DRIVER && -f $KILN_CUBLAS ]]
    return
  fi
  if ! command -v nvidia-smi >/dev/null; then echo "no GPU: nvidia-smi not found"; return 1; fi
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
}

# Lists every libcublas.so.N where NVIDIA's packages put them and makes sure Kiln finds one: when Kiln's own search
# fails (cuBLAS in a place it does not look), KILN_CUBLAS is exported for every later stage. The places: the CUDA
# toolkit, the loader's folders, and nvidia/*/lib (nvidia/cublas/lib of the CUDA 12 wheels, nvidia/cu13/lib of the
# CUDA 13 ones) in every Python package folder: python3's own (site.getsitepackages()), the active virtual or conda
# environment, and the usual places of virtual environments (/opt/NAME/.venv, ~/.venv, /opt/conda).
find_cublas() {
  local candidates sp
  candidates=$( {
    [[ -n ${KILN_CUBLAS:-} ]] && ls "$KILN_CUBLAS"
    ls /usr/local/cuda/lib64/libcublas.so.1[0-9] /usr/lib/x86_64-linux-gnu/libcublas.so.1[0-9] 2>/dev/null
    {
      python3 -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null
      for prefix in "${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}" /opt/*/.venv "${HOME:-/nonexistent}/.venv" /opt/conda /usr /usr/local \
                    "${HOME:-/nonexistent}/.local"; do
        [[ -n $prefix ]] && ls -d "$prefix"/lib/python3*/*-packages 2>/dev/null
      done
    } | while read -r sp; do ls "$sp"/nvidia/*/lib/libcublas.so.1[0-9] 2>/dev/null; done
  } | awk '!seen[$0]++')
  if [[ -z $candidates ]]; then echo "no libcublas.so.N on this machine"; return 1; fi
  echo "$candidates"
  if [[ ! -f $jar ]]; then echo "no jar at $jar: cannot ask Kiln where it finds cuBLAS"; return 1; fi
  local devices; devices=$("$java" "${flags[@]}" -jar "$jar" devices 2>&1 | grep -v '^WARNING')
  if grep -E '^cuda \(not usable\)' <<<"$devices" | grep -qi 'cublas'; then
    echo "Kiln's own search found no cuBLAS: $(grep -m1 -i cuda <<<"$devices")"
    # newest major first, as Kiln's search (a folder may hold both .12 and .13)
    export KILN_CUBLAS; KILN_CUBLAS=$(dirname "$(awk -F'[.]so[.]' '{ print $NF " " $0 }' <<<"$candidates" | sort -k1,1nr | head -n 1 | cut -d' ' -f2-)")
    echo "retrying with KILN_CUBLAS=$KILN_CUBLAS"
    devices=$("$java" "${flags[@]}" -jar "$jar" devices 2>&1 | grep -v '^WARNING')
  fi
  grep -E 'cuBLAS|cuda' <<<"$devices"
  grep -q 'cuBLAS [0-9]' <<<"$devices"
}

# The numbers of two runs that must agree. "graph vs eager": train-small replays CUDA graphs, validate runs the same
# 1-epoch training op by op; losses within 0.002. "gpu vs cpu": the first epoch of the seed network (same seed) on
# the GPU and on the CPU, from their --metrics files: train and test loss within 0.01, test accuracy within 0.3
# points. Only the first epoch is compared: runs that sum in different orders drift apart as training goes on, so
# later epochs are printed, not compared. Each missing log or number is a failure.
agree() {
  local ok=0
  compare() { # NAME LOG_A LOG_B PATTERN FIELD TOLERANCE: the FIELD-th number of the last line matching PATTERN
    local a b
    a=$(grep -E "$4" "$2" 2>/dev/null | tail -n 1 | grep -oE '[0-9]+[.][0-9]+' | sed -n "${5}p")
    b=$(grep -E "$4" "$3" 2>/dev/null | tail -n 1 | grep -oE '[0-9]+[.][0-9]+' | sed -n "${5}p")
    if [[ -z $a || -z $b ]]; then echo "$1: missing (${a:-none} vs ${b:-none})"; ok=1; return; fi
    if awk -v a="$a" -v b="$b" -v t="$6" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'; then
      echo "$1: $a vs $b: ok"
    else
      echo "$1: $a vs $b: DIFFER by more than $6"; ok=1
    fi
  }
  metric() { # FILE KEY: KEY of the first line (epoch 1) of a --metrics file
    head -n 1 "$1" 2>/dev/null | grep -oE "\"$2\": *[-0-9.eE]+" | grep -oE '[-0-9.eE]+$' | awk '{ printf "%.6f\n", $1 }'
  }
  compare "graph vs eager train loss" "$logs/train-small.log" "$logs/validate.log" '^epoch' 1 0.002
  compare "graph vs eager test loss" "$logs/train-small.log" "$logs/validate.log" '^epoch' 3 0.002
  local key tol
  for key in train_loss test_loss test_accuracy; do
    tol=0.01; [[ $key == test_accuracy ]] && tol=0.003
    printf 'x %s\n' "$(metric "$logs/gpu-train.jsonl" $key)" >"$logs/agree-gpu.txt"
    printf 'x %s\n' "$(metric "$logs/cpu-train.jsonl" $key)" >"$logs/agree-cpu.txt"
    compare "gpu vs cpu epoch 1 $key" "$logs/agree-gpu.txt" "$logs/agree-cpu.txt" '^x' 1 $tol
  done
  echo "after $epochs epochs: gpu $(grep -E '^done' "$logs/train.log" 2>/dev/null), cpu $(grep -E '^done' "$logs/cpu-train.log" 2>/dev/null) (not compared)"
  return $ok
}

[[ -n $standin ]] && echo "*** against the CPU STAND-IN of CUDA ($standin): not a GPU; no GPU numbers below ***"
echo "kiln GPU check: commit ${KILN_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}, $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${budget} s, logs in $logs"
stage gpu 30 gpu_info
if [[ -f $jar ]]; then
  stage cublas 60 find_cublas
else
  skip cublas "no jar at $jar"
fi
# Most telling first: whatever the budget cuts is at the end.
can_train=0
if [[ ! -f $jar ]]; then
  skip devices-check "no jar at $jar (build it: ./mvnw -pl cli -am package -DskipTests)"
else
  stage devices-check 150 "$java" "${flags[@]}" -jar "$jar" devices --check
  # picocli answers an unknown subcommand's --help with the root usage, so look for the train command's own usage
  if ! "$java" "${flags[@]}" -jar "$jar" train --help 2>&1 | grep -q '^Usage: kiln train'; then
    skip train "this jar has no train command yet"
  elif [[ ! -d $data ]]; then
    skip train "no MNIST folder at $data"
  else
    can_train=1
  fi
fi
k=("$java" "${flags[@]}" -jar "$jar")
if ((can_train)); then
  # The seed network on the GPU and on the CPU (same seed): their first epochs must agree (see agree).
  stage train 120 "${k[@]}" train --device cuda --data-dir "$data" --epochs $epochs ${limit[@]+"${limit[@]}"} \
    --metrics "$logs/gpu-train.jsonl" -o "$logs/gpu-seed.safetensors"
  # Every op of a real run checked against the reference as it goes (small: the reference is slow).
  stage validate 90 "${k[@]}" train --device cuda --validate --data-dir "$data" --limit 3000 --epochs 1 \
    -o "$logs/validate.safetensors"
  stage train-small 60 "${k[@]}" train --device cuda --data-dir "$data" --limit 3000 --epochs 1 \
    -o "$logs/small.safetensors"
  if ! grep -q '^done' "$logs/train-small.log" 2>/dev/null; then
    # A failed GPU run again, synchronising after every launch: an asynchronous fault then names its kernel.
    stage train-sync 60 "${k[@]}" train --device cuda --cuda-sync --verbose --data-dir "$data" --limit 3000 \
      --epochs 1 -o "$logs/small-sync.safetensors"
  fi
  stage eval-on-gpu 60 "${k[@]}" eval --device cuda --data-dir "$data" -m "$logs/gpu-seed.safetensors" ${limit[@]+"${limit[@]}"}
  stage cpu-train 120 "${k[@]}" train --device cpu --data-dir "$data" --epochs $epochs ${limit[@]+"${limit[@]}"} \
    --metrics "$logs/cpu-train.jsonl" -o "$logs/cpu-seed.safetensors"
  stage agree 5 agree
  # A GPU checkpoint resumes on the CPU, and a CPU one on the GPU.
  stage resume-on-cpu 60 "${k[@]}" train --device cpu --data-dir "$data" --epochs $((epochs + 1)) ${limit[@]+"${limit[@]}"} \
    --resume "$logs/gpu-seed.safetensors" -o "$logs/gpu-then-cpu.safetensors"
  stage resume-on-gpu 60 "${k[@]}" train --device cuda --data-dir "$data" --epochs $((epochs + 1)) ${limit[@]+"${limit[@]}"} \
    --resume "$logs/cpu-seed.safetensors" -o "$logs/cpu-then-gpu.safetensors"
fi
if [[ -n $standin ]]; then
  skip torch-peer "the stand-in is not a GPU: no speed stages"
elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)' >/dev/null 2>&1; then
  skip torch-peer "python3 has no torch with a GPU here"
elif [[ ! -d $data ]]; then
  skip torch-peer "no MNIST folder at $data"
else
  stage torch-peer 150 python3 bench/gpu/torch_peer.py --data-dir "$data" --json "$logs/torch-peer.jsonl"
fi
if [[ -n $standin ]]; then
  skip bench "the stand-in is not a GPU: no speed stages"
elif ((can_train)); then
  # CPU against GPU throughput on the seed net (batch 64, 1024) and the wide net (batch 1024).
  stage bench 200 "${k[@]}" bench --devices cpu,cuda --epochs 4 --data-dir "$data" \
    --configs "784,25,25,10:64 784,25,25,10:1024 784,1024,1024,10:1024"
fi

echo
echo "=== summary (logs in $logs)"
printf '%-14s %-18s %-9s %s\n' stage status time result
for r in "${rows[@]}"; do
  IFS='|' read -r name status secs result <<<"$r"
  printf '%-14s %-18s %-9s %s\n' "$name" "$status" "$secs" "$result"
done | tee "$logs/summary.txt"
exit $failed
