#!/usr/bin/env bash
# JMH benchmark of the policy engine alone (no HTTP): parse, evaluate, µs per evaluated policy, whole review.
# Usage: src/bench/engine-bench.sh   (from the repository root; about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -B -q test-compile -DskipTests >&2
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >&2
exec java -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  io.egressguard.bench.EngineBenchmark "$@"
