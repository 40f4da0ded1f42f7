#!/usr/bin/env bash
# Startup of the webhook in JVM mode, as ./egress-guard bench measures it, repeated: from `java ... serve` until
# GET /q/health/ready answers 200, then the first POST /validate of the 10 KB injected Pod from a new curl process
# (TLS handshake included). Prints each run and the medians, plus the CPU time the server used until ready and the
# share of CPU time the hypervisor stole from this machine meanwhile (server.sh).
# Usage: src/bench/startup.sh [RUNS] [JAR]     (default 5 runs of target/egress-guard-runner.jar)
# BENCH_PORT (default 18700) picks the port; EXTRA_JAVA_OPTS are added to the JVM flags.
set -uo pipefail
home="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-5}"
jar="${2:-$home/target/egress-guard-runner.jar}"
port="${BENCH_PORT:-18700}"
out="$home/target/bench/startup"
mkdir -p "$out"
"$home/egress-guard" --version >/dev/null   # builds the application and its archive if needed

# shellcheck source=server.sh
. "$home/src/bench/server.sh"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

starts=(); firsts=(); cpus=()
for i in $(seq 1 "$runs"); do
  : >"$out/server.log"
  mark=$(cpu_mark)
  t0=$(date +%s%3N)
  # shellcheck disable=SC2086
  java $heap_flags $cds_flags ${EXTRA_JAVA_OPTS:-} -jar "$jar" serve --port "$port" --host 127.0.0.1 --tls-dir "$out/tls" \
    >"$out/server.log" 2>&1 &
  pid=$!
  wait_ready "$pid" "$port" "$out/server.log"
  t1=$(date +%s%3N)
  steal=$(steal_since "$mark")
  cpu=$(awk '{printf "%d", ($14+$15)*1000/'"$(getconf CLK_TCK)"'}' "/proc/$pid/stat")
  first=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$out/tls/ca.crt" -H 'Content-Type: application/json' \
    --data-binary @"$home/src/test/resources/bench/pod-10k.json" "https://localhost:$port/validate")
  first=$(awk "BEGIN{printf \"%.1f\", $first*1000}")
  cleanup
  pid=""
  starts+=($((t1 - t0))); firsts+=("$first"); cpus+=("$cpu")
  echo "run $i: startup to ready $((t1 - t0)) ms (server CPU $cpu ms, steal $steal%), first request $first ms"
done
echo "median of $runs: startup to ready $(printf '%s\n' "${starts[@]}" | median) ms (server CPU \
$(printf '%s\n' "${cpus[@]}" | median) ms), first request $(printf '%s\n' "${firsts[@]}" | median) ms"
