#!/usr/bin/env bash
# examples/check.sh: the example project as a user builds it, run by ./test after the suite (CI).
# Kiln is installed into a temporary local Maven repository (third-party artifacts come read-only from the usual
# one), the example is built against it by coordinates alone, and run with plain java and the README's flags:
# once on a quick MNIST subset (once more without the Vector API flag: it must say so, once), once on Iris as CSV.
# Like the tests tagged "network", MNIST is fetched when missing, except under -Poffline, where the MNIST run needs
# the cache and is skipped without it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/.mvn/jdk.sh"
offline=false
for arg in "$@"; do [[ $arg == -Poffline ]] && offline=true; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
maven=(-B -ntp -q "-Dmaven.repo.local=$work/repo" "-Dmaven.repo.local.tail=$HOME/.m2/repository")
fail() { echo "examples: FAILED: $1" >&2; [[ -n ${2:-} ]] && printf '%s\n' "$2" >&2; exit 1; }

echo "examples: installing Kiln into a temporary local repository ..."
(cd "$root" && ./mvnw "${maven[@]}" install -DskipTests -pl data,engine,kernels -am) || fail "./mvnw install"
cd "$root/examples/kiln-example"
rm -rf target
echo "examples: building examples/kiln-example against it ..."
"$root/mvnw" "${maven[@]}" package || fail "the example's build"
cp='target/classes:target/lib/*'
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)

if $offline && ! compgen -G "${KILN_HOME:-$HOME/.cache/kiln}/mnist/train-images-idx3-ubyte*" >/dev/null; then
  echo "examples: TrainMnist skipped (-Poffline and no MNIST in Kiln's cache)"
else
  out=$("$JAVA" "${flags[@]}" -cp "$cp" example.TrainMnist --epochs 2 --limit 5000 --out "$work/mnist.safetensors" 2>&1) \
    || fail "example.TrainMnist" "$out"
  grep -q '^device: CPU' <<<"$out" || fail "TrainMnist did not run on the vectorised CPU device" "$out"
  grep -q '^test accuracy [0-9.]*% on 5000 images' <<<"$out" || fail "TrainMnist printed no accuracy" "$out"
  grep -q '^reloaded .*: first test image is a [0-9]' <<<"$out" || fail "TrainMnist did not reload and predict" "$out"
  ! grep -q 'restricted method' <<<"$out" || fail "the JVM warned about native access" "$out"
  echo "examples: TrainMnist: $(grep '^test accuracy' <<<"$out")"
  # Without the Vector API module: it still works, on the reference device, and says so once, naming the flag.
  out=$("$JAVA" --enable-native-access=ALL-UNNAMED -cp "$cp" example.TrainMnist --epochs 1 --limit 500 --out "$work/slow.safetensors" 2>&1) \
    || fail "example.TrainMnist without the Vector API flag" "$out"
  [[ $(grep -c 'add --add-modules jdk.incubator.vector to the java command line' <<<"$out") == 1 ]] \
    || fail "without the Vector API flag, one warning naming it was expected" "$out"
  grep -q '^device: reference CPU device' <<<"$out" || fail "without the flag, the reference device was expected" "$out"
fi

iris=/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv
if [[ -f $iris ]]; then
  # Fisher's Iris data as Debian's python3-sklearn ships it, given a header with names (README, "Your own data")
  (echo sepal_length,sepal_width,petal_length,petal_width,species
   tail -n +2 "$iris" | sed 's/,0$/,setosa/;s/,1$/,versicolor/;s/,2$/,virginica/') >"$work/iris.csv"
  out=$(cd "$work" && "$JAVA" "${flags[@]}" -cp "$root/examples/kiln-example/target/classes:$root/examples/kiln-example/target/lib/*" \
      example.TrainCsv iris.csv species 2>&1) || fail "example.TrainCsv" "$out"
  grep -q 'test accuracy [0-9.]*% on 30 held-out rows' <<<"$out" || fail "TrainCsv printed no accuracy" "$out"
  grep -q '^reloaded: .* is [a-z]* (labelled [a-z]*)' <<<"$out" || fail "TrainCsv did not reload and classify" "$out"
  echo "examples: TrainCsv: $(grep 'test accuracy' <<<"$out")"
else
  echo "examples: TrainCsv skipped (no $iris; apt-get install python3-sklearn)"
fi
echo "examples: OK"
