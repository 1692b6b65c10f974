#!/usr/bin/env bash
# Runs an example with plain java and the flags README.md's "Java API" section documents:
#   ./run.sh example.TrainMnist --epochs 2 --limit 5000
# Build first: ../../mvnw -q package (after ./mvnw install -DskipTests in Kiln's folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ../../.mvn/jdk.sh
exec "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp 'target/classes:target/lib/*' "$@"
