#!/usr/bin/env bash
# Microseconds per policy on the benchmark samples (one policy at a time, after a warm-up).
# Usage: src/bench/policy-cost.sh [POLICIES_DIR]   (POLICIES_DIR overrides built-in policies with the same id)
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -B -q test-compile -DskipTests >&2
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >&2
exec java -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" io.egressguard.bench.PolicyCost "$@"
