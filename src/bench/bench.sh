#!/usr/bin/env bash
# HTTP benchmark of the webhook in JVM mode, driven by wrk over HTTPS keep-alive with real AdmissionReview bodies.
# Reports startup to ready, the first request after ready, throughput and p50/p90/p99 at fixed rates and at
# saturation for a 10 KB Pod, a Deployment and a NetworkPolicy, the same for the server's no-op endpoint (the floor),
# RSS under load with the Deployment's heap flags, and the cost of 100 extra user policies on other kinds.
# Usage: ./egress-guard bench [SECONDS]     (default 15 s per run; about 5 minutes in all)
set -uo pipefail
home="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$home"
secs="${1:-15}"
port="${BENCH_PORT:-18643}"
out="$home/target/bench"
mkdir -p "$out"
jar="$home/target/quarkus-app/quarkus-run.jar"

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >&2
  else
    echo "bench: wrk is missing; install it (apt-get install wrk)" >&2
    exit 2
  fi
fi
"$home/egress-guard" --version >/dev/null   # builds the application if needed

# the heap flags the Deployment uses (webhook-config/base/deployment.yaml, JAVA_TOOL_OPTIONS)
heap_flags="$(sed -n '/JAVA_TOOL_OPTIONS/{n;s/.*value: "\(.*\)"/\1/p}' webhook-config/base/deployment.yaml)"
# the container's memory limit, as the JVM would see it in the pod (MaxRAMPercentage applies to it)
heap_flags="$heap_flags -XX:MaxRAM=${BENCH_MAX_RAM:-$(sed -n '/limits:/{n;s/.*memory: *\([0-9]*\)Mi.*/\1m/p}' webhook-config/base/deployment.yaml)}"
samples="$home/src/test/resources/bench"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT

now_ms() { date +%s%3N; }

start_server() { # $1: extra args
  local t0 t1
  t0=$(now_ms)
  # shellcheck disable=SC2086
  java $heap_flags -jar "$jar" serve --port "$port" --host 127.0.0.1 --tls-dir "$out/tls" $1 \
    >"$out/server.log" 2>&1 &
  pid=$!
  until curl -sf --cacert "$out/tls/ca.crt" "https://localhost:$port/q/health/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "bench: server died:" >&2; cat "$out/server.log" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(now_ms)
  startup_ms=$((t1 - t0))
}

stop_server() { cleanup; pid=""; }

run_wrk() { # $1 path, $2 body file, $3 connections, $4 delay ms, $5 seconds
  BODY="$2" DELAY_MS="$4" wrk -t1 -c"$3" -d"$5"s --timeout 5s -s src/bench/post.lua \
    "https://localhost:$port$1" 2>&1 | grep '^RESULT' | sed 's/^RESULT //'
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

report="$out/results.md"
{
  echo "# Egress Guard benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(java -version 2>&1 | head -1), heap flags: $heap_flags"
  echo
} >"$report"

start_server ""
first=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$out/tls/ca.crt" -H 'Content-Type: application/json' \
  --data-binary @"$samples/pod-10k.json" "https://localhost:$port/validate")
{
  echo "- startup to ready: ${startup_ms} ms"
  echo "- first request after ready (new curl process, TLS handshake included): $(awk "BEGIN{printf \"%.1f\", $first*1000}") ms"
  echo
  echo "| body | endpoint | load | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >>"$report"

# warm the JIT on every path before measuring
for b in pod-10k deployment networkpolicy; do run_wrk /validate "$samples/$b.json" 16 0 5 >/dev/null; done
run_wrk /noop "$samples/pod-10k.json" 16 0 5 >/dev/null

declare -A sat
for b in pod-10k deployment networkpolicy; do
  for ep in /validate /noop; do
    [ "$ep" = /noop ] && [ "$b" != pod-10k ] && continue
    r=$(run_wrk "$ep" "$samples/$b.json" 16 0 "$secs")
    sat["$b$ep"]=$(field "$r" rps)
    echo "| $b | $ep | saturation (16 conns) | $(field "$r" rps) | $(field "$r" p50) | $(field "$r" p90) | $(field "$r" p99) | $(field "$r" max) | $(field "$r" errors) |" >>"$report"
  done
  for rate in 500 1000; do
    r=$(run_wrk /validate "$samples/$b.json" $((rate / 100)) 10 "$secs")
    echo "| $b | /validate | ~$rate req/s ($((rate / 100)) conns x 10 ms pause) | $(field "$r" rps) | $(field "$r" p50) | $(field "$r" p90) | $(field "$r" p99) | $(field "$r" max) | $(field "$r" errors) |" >>"$report"
  done
done
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
stop_server

# 100 extra user policies that match other kinds (ConfigMaps) must not slow Pod reviews down
extra="$out/extra-policies"
rm -rf "$extra"
for i in $(seq -w 1 100); do
  mkdir -p "$extra/extra-$i"
  cat >"$extra/extra-$i/policy.yaml" <<POLICY
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: extra-$i
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["configmaps"]
      operations: ["CREATE", "UPDATE"]
  validations:
  - expression: "!has(object.data) || !('key-$i' in object.data)"
    message: "data.key-$i is reserved"
POLICY
done
start_server "--policies $extra"
run_wrk /validate "$samples/pod-10k.json" 16 0 5 >/dev/null
r=$(run_wrk /validate "$samples/pod-10k.json" 16 0 "$secs")
with_extra=$(field "$r" rps)
stop_server

base=${sat[pod-10k/validate]}
floor=${sat[pod-10k/noop]}
{
  echo
  echo "- throughput vs the no-op floor (10 KB Pod): $(awk "BEGIN{printf \"%.2f\", $base/$floor}")x ($base / $floor req/s)"
  echo "- RSS after the runs: $((rss_kb / 1024)) MB (peak $((hwm_kb / 1024)) MB)"
  echo "- with 100 extra policies on ConfigMaps, 10 KB Pod at saturation: $with_extra req/s ($(awk "BEGIN{printf \"%.1f\", (1-$with_extra/$base)*100}")% less)"
} >>"$report"
cat "$report"
