#!/usr/bin/env bash
# Startup of the webhook in JVM mode, as ./egress-guard bench measures it, repeated: from `java ... serve` until
# GET /q/health/ready answers 200, then the first POST /validate of the 10 KB injected Pod from a new curl process
# (TLS handshake included). Prints each run and the medians, plus the CPU time the server used until ready.
# Usage: src/bench/startup.sh [RUNS] [JAR]     (default 5 runs of target/quarkus-app/quarkus-run.jar)
# BENCH_PORT (default 18700) picks the port; EXTRA_JAVA_OPTS are added to the JVM flags.
set -uo pipefail
home="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-5}"
jar="${2:-$home/target/quarkus-app/quarkus-run.jar}"
port="${BENCH_PORT:-18700}"
out="$home/target/bench/startup"
mkdir -p "$out"
"$home/egress-guard" --version >/dev/null   # builds the application and its archive if needed

# the Deployment's heap flags and memory limit, as bench.sh uses them
heap_flags="$(sed -n '/JAVA_TOOL_OPTIONS/{n;s/.*value: "\(.*\)"/\1/p}' "$home/webhook-config/base/deployment.yaml")"
heap_flags="$heap_flags -XX:MaxRAM=${BENCH_MAX_RAM:-$(sed -n '/limits:/{n;s/.*memory: *\([0-9]*\)Mi.*/\1m/p}' \
  "$home/webhook-config/base/deployment.yaml")}"
# the class-data-sharing archive the launcher makes after each build (EGRESS_GUARD_CDS=0: without it)
cds_flags=""
[ -f "$(dirname "$jar")/app-cds.jsa" ] && [ "${EGRESS_GUARD_CDS:-1}" != 0 ] \
  && cds_flags="-XX:SharedArchiveFile=$(dirname "$jar")/app-cds.jsa"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

starts=(); firsts=(); cpus=()
for i in $(seq 1 "$runs"); do
  t0=$(date +%s%3N)
  # shellcheck disable=SC2086
  java $heap_flags $cds_flags ${EXTRA_JAVA_OPTS:-} -jar "$jar" serve --port "$port" --host 127.0.0.1 --tls-dir "$out/tls" \
    >"$out/server.log" 2>&1 &
  pid=$!
  until curl -sf --cacert "$out/tls/ca.crt" "https://localhost:$port/q/health/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "startup: server died:" >&2; cat "$out/server.log" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s%3N)
  cpu=$(awk '{printf "%d", ($14+$15)*1000/'"$(getconf CLK_TCK)"'}' "/proc/$pid/stat")
  first=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$out/tls/ca.crt" -H 'Content-Type: application/json' \
    --data-binary @"$home/src/test/resources/bench/pod-10k.json" "https://localhost:$port/validate")
  first=$(awk "BEGIN{printf \"%.1f\", $first*1000}")
  cleanup
  pid=""
  starts+=($((t1 - t0))); firsts+=("$first"); cpus+=("$cpu")
  echo "run $i: startup to ready $((t1 - t0)) ms (server CPU $cpu ms), first request $first ms"
done
echo "median of $runs: startup to ready $(printf '%s\n' "${starts[@]}" | median) ms (server CPU \
$(printf '%s\n' "${cpus[@]}" | median) ms), first request $(printf '%s\n' "${firsts[@]}" | median) ms"
