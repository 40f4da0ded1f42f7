#!/usr/bin/env bash
# Two builds of the engine in one JVM, in alternating rounds (see PairedBenchmark): this repository against another
# checkout, for example of the previous commit:
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && ./mvnw -B -q test-compile)
#   src/bench/paired.sh /tmp/base evaluate pod-10k 30
# Usage: src/bench/paired.sh OTHER_ROOT [parse|evaluate|review] [pod-10k|deployment|networkpolicy] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ -d "$1" ] || { echo "paired: no directory $1" >&2; exit 2; }
./mvnw -B -q test-compile -DskipTests >&2
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >&2
# the builds' JBoss log manager, loaded after the JDK's, complains about it on stderr: that line is left out
java -cp "target/test-classes" \
  io.egressguard.bench.PairedBenchmark "$(cd "$1" && pwd)" "$(pwd)" "$(cat target/bench-classpath.txt)" \
  "${2:-evaluate}" "${3:-pod-10k}" "${4:-30}" 2> >(grep -v 'LogManager accessed before\|JBossLoggerFinder' >&2)
