#!/usr/bin/env bash
# HTTP benchmark of the webhook in JVM mode, driven by wrk over HTTPS keep-alive with real AdmissionReview bodies.
# Reports startup to ready and the first request after ready (median of three starts), throughput and p50/p90/p99
# at fixed rates and at saturation for a 10 KB Pod, a Deployment and a NetworkPolicy, the same for the server's
# no-op endpoint (the floor), the CPU time the hypervisor stole from this machine during each run,
# RSS under load (sampled every second) with the Deployment's JVM flags and environment and the launcher's
# class-data-sharing archive (as the JVM image has its own), and the cost of 100 extra user policies on other kinds
# (two fresh servers, warmed up alike, measured in alternating runs). The server is warmed up to steady state first.
# Usage: ./egress-guard bench [SECONDS]     (default 15 s per run; about 14 minutes in all, 7 with 8-second runs)
#   EGRESS_GUARD_CDS=0 runs the server without the archive
#   BENCH_PORT (18643; the comparison also uses the next port), BENCH_ROUNDS (3 alternating runs per server),
#   BENCH_QUIET_STEAL (5: runs during which the hypervisor stole more than 5% of the CPU time are repeated)
set -uo pipefail
home="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$home"
case "${1:-}" in
  -h|--help)
    sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
secs="${1:-15}"
if ! [[ "$secs" =~ ^[1-9][0-9]{0,3}$ ]] || [ $# -gt 1 ]; then
  echo "bench: usage: ./egress-guard bench [SECONDS]: SECONDS per run, a whole number from 1 to 9999 (default 15)" >&2
  exit 2
fi
port="${BENCH_PORT:-18643}"
out="$home/target/bench"
mkdir -p "$out"
jar="$home/target/egress-guard-runner.jar"

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

# the JVM flags the Deployment uses and the launcher's archive
# shellcheck source=server.sh
. "$home/src/bench/server.sh"
# and the rest of the container's environment (MALLOC_ARENA_MAX, ...), given to the server as in the pod
server_env=()
while IFS= read -r kv; do
  [ -n "$kv" ] && [ "${kv%%=*}" != JAVA_TOOL_OPTIONS ] && server_env+=("$kv")
done < <(awk '/^ *env:$/ { inenv = 1; next }
  inenv && /^ *#/ { next }
  inenv && /^ *- name:/ { name = $3; next }
  inenv && /^ *value:/ { v = $0; sub(/^ *value: */, "", v); gsub(/^"|"$/, "", v); print name "=" v; next }
  { inenv = 0 }' webhook-config/base/deployment.yaml)
samples="$home/src/test/resources/bench"
pid=""
pid2=""
cleanup() {
  for p in $pid $pid2; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  true
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

start_server() { # $1: extra args; $2: port (default $port); $3: log name (default server)
  local t0 t1 mark p="${2:-$port}" log="$out/${3:-server}.log"
  : >"$log"
  mark=$(cpu_mark)
  t0=$(now_ms)
  # shellcheck disable=SC2086
  env "${server_env[@]}" java $heap_flags $cds_flags -jar "$jar" serve --port "$p" --host 127.0.0.1 --tls-dir "$out/tls" $1 \
    >"$log" 2>&1 &
  pid=$!
  wait_ready "$pid" "$p" "$log"
  t1=$(now_ms)
  startup_ms=$((t1 - t0))
  startup_steal=$(steal_since "$mark")
  # the CPU the server used until ready: the same work takes 4 s of CPU in one hour and 5.8 s in the next on a
  # shared host with no steal recorded, which tells a slow machine from a slower build
  startup_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat")
}

stop_server() { cleanup; pid=""; pid2=""; }

run_wrk() { # $1 path, $2 body file, $3 connections, $4 delay ms, $5 seconds, $6 port (default $port)
  local mark r
  mark=$(cpu_mark)
  r=$(BODY="$2" DELAY_MS="$4" wrk -t1 -c"$3" -d"$5"s --timeout 5s -s src/bench/post.lua \
    "https://localhost:${6:-$port}$1" 2>&1 | grep '^RESULT' | sed 's/^RESULT //')
  echo "$r steal=$(steal_since "$mark")"
}

quiet() { [ "${1:-0}" -le "$quiet_steal" ]; }   # $1: a steal percentage

# run_wrk until a run is quiet, at most three times, 5 s apart (the host's busy spells last tens of seconds); prints
# the last run, with "tries=N" and "stolen=..." (the steal of each try) added
run_quiet() {
  local r k stolen=""
  for k in 1 2 3; do
    [ "$k" -gt 1 ] && sleep 5
    r=$(run_wrk "$@")
    stolen="$stolen${stolen:+/}$(field "$r" steal)%"
    quiet "$(field "$r" steal)" && break
  done
  echo "$r tries=$k stolen=$stolen"
}

# Alternating pairs of runs (A B, B A, A B, ...), so that the host's load falls on both alike, until $1 pairs are
# quiet (at most twice as many pairs; the next pair waits 5 s after a noisy one). $2 and $3 are the commands (names
# of functions printing one run_wrk result) for A and B. Sets pairs_a and pairs_b (req/s of the quiet pairs, of all
# when fewer than $1 were quiet), pairs_ratios (A/B of the same pairs) and pairs_list (every pair: A/B and the steal
# of each run).
quiet_pairs() {
  local want=$1 ra rb ratio tries=0 noisy=""
  local -a qa=() qb=() qr=() aa=() ab=() ar=()
  pairs_list=""
  while [ "${#qa[@]}" -lt "$want" ] && [ "$tries" -lt $((want * 2)) ]; do
    [ -n "$noisy" ] && sleep 5
    if [ $((tries % 2)) = 0 ]; then ra=$($2); rb=$($3); else rb=$($3); ra=$($2); fi
    tries=$((tries + 1))
    ratio=$(awk "BEGIN{printf \"%.2f\", $(field "$ra" rps)/$(field "$rb" rps)}")
    aa+=("$(field "$ra" rps)"); ab+=("$(field "$rb" rps)"); ar+=("$ratio")
    noisy=x
    if quiet "$(field "$ra" steal)" && quiet "$(field "$rb" steal)"; then
      qa+=("$(field "$ra" rps)"); qb+=("$(field "$rb" rps)"); qr+=("$ratio"); noisy=""
    fi
    pairs_list="$pairs_list${pairs_list:+, }$ratio ($(field "$ra" steal)%/$(field "$rb" steal)%)"
  done
  if [ "${#qa[@]}" -ge "$want" ]; then
    pairs_a=("${qa[@]}"); pairs_b=("${qb[@]}"); pairs_ratios=("${qr[@]}")
  else
    pairs_a=("${aa[@]}"); pairs_b=("${ab[@]}"); pairs_ratios=("${ar[@]}")
  fi
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

report="$out/results.md"
{
  echo "# Egress Guard benchmark"
  echo
  # the CPU model: two machines of the same size need not run on the same hardware, and the floor moves with it
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)), $(java -version 2>&1 | head -1), JVM flags: $heap_flags${cds_flags:+ $cds_flags (class-data-sharing archive made by the launcher)}${server_env[*]:+, environment: ${server_env[*]}}"
  echo
} >"$report"

# Startup and the first request, three times (a fresh server each time; the third one stays up for the load): one
# start is a sample of the host's mood as much as of the server's
starts=(); firsts=(); start_list=""
for k in 1 2 3; do
  [ "$k" -gt 1 ] && stop_server
  start_server ""
  first=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$out/tls/ca.crt" -H 'Content-Type: application/json' \
    --data-binary @"$samples/pod-10k.json" "https://localhost:$port/validate")
  first=$(awk "BEGIN{printf \"%.1f\", $first*1000}")
  starts+=("$startup_ms"); firsts+=("$first")
  start_list="$start_list${start_list:+, }$startup_ms ms and $first ms (server CPU until ready $startup_cpu ms, steal $startup_steal%)"
done
{
  echo "- startup to ready: $(median "${starts[@]}") ms, median of 3 fresh starts"
  echo "- first request after ready (new curl process, TLS handshake included): $(median "${firsts[@]}") ms, median" \
    "of the same 3 (each start to ready, then first request: $start_list)"
  echo
  echo "| body | endpoint | load | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | steal |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >>"$report"

warm_up() { # $1 [$2]: ports; the JIT on every path before measuring, the servers taking turns
  for b in pod-10k deployment networkpolicy; do
    for p in "$@"; do run_wrk /validate "$samples/$b.json" 16 0 5 "$p" >/dev/null; done
  done
}

# Until steady state: 5-second runs on each body until a run is within 5% of the one before (at most 8 runs each).
# The Deployment's JIT thresholds delay full compilation, so a short warm-up would measure a half-compiled server.
warm_to_steady() { # $1: port
  local b prev cur i
  for b in pod-10k deployment networkpolicy; do
    prev=0
    for i in 1 2 3 4 5 6 7 8; do
      cur=$(field "$(run_wrk /validate "$samples/$b.json" 16 0 5 "$1")" rps)
      awk "BEGIN{exit !($prev > 0 && $cur < $prev * 1.05 && $cur > $prev * 0.95)}" && break
      prev=$cur
    done
    echo "warm-up $b: $i runs of 5 s, last $cur req/s" >&2
  done
}

# RSS of the server sampled every second while the load runs (the highest sample is reported)
rss_samples="$out/rss-samples.txt"
: >"$rss_samples"
sample_rss() { # runs in the background until killed
  while kill -0 "$pid" 2>/dev/null; do
    awk '/VmRSS/{print $2}' "/proc/$pid/status" >>"$rss_samples" 2>/dev/null
    sleep 1
  done
}
warm_to_steady "$port"
run_wrk /noop "$samples/pod-10k.json" 16 0 5 >/dev/null
sample_rss &
sampler=$!

row() { # $1 body, $2 endpoint, $3 load, $4 result
  echo "| $1 | $2 | $3 | $(field "$4" rps) | $(field "$4" p50) | $(field "$4" p90) | $(field "$4" p99) | $(field "$4" max) | $(field "$4" errors) | $(field "$4" steal)% |" >>"$report"
}
declare -A sat
for b in pod-10k deployment networkpolicy; do
  for ep in /validate /noop; do
    [ "$ep" = /noop ] && [ "$b" != pod-10k ] && continue
    r=$(run_quiet "$ep" "$samples/$b.json" 16 0 "$secs")
    sat["$b$ep"]=$(field "$r" rps)
    row "$b" "$ep" "saturation (16 conns)$([ "$(field "$r" tries)" -gt 1 ] && echo ", try $(field "$r" tries) (steal $(field "$r" stolen))")" "$r"
  done
  for rate in 500 1000; do
    # three quiet runs (a run with more than BENCH_QUIET_STEAL% steal is repeated 5 s later, at most nine runs in
    # all): the row is the run with the median p99 of the quiet ones (of all, if fewer than three were quiet); every
    # run is listed
    runs=(); quiet_runs=(); listed=""
    while [ "${#quiet_runs[@]}" -lt 3 ] && [ "${#runs[@]}" -lt 9 ]; do
      [ "${#runs[@]}" -gt 0 ] && ! quiet "$(field "${runs[-1]}" steal)" && sleep 5
      r=$(run_wrk /validate "$samples/$b.json" $((rate / 100)) 10 "$secs")
      runs+=("$r")
      if quiet "$(field "$r" steal)"; then quiet_runs+=("$r"); fi
      listed="$listed${listed:+, }$(field "$r" p99) ($(field "$r" steal)%)"
    done
    pool=("${runs[@]}")
    [ "${#quiet_runs[@]}" -ge 3 ] && pool=("${quiet_runs[@]}")
    mid=$(for k in "${!pool[@]}"; do echo "$(field "${pool[$k]}" p99) $k"; done | sort -n \
      | sed -n "$(( (${#pool[@]} + 1) / 2 ))p" | cut -d' ' -f2)
    row "$b" /validate "~$rate req/s ($((rate / 100)) conns x 10 ms pause), median p99 of ${#pool[@]} $([ "${#pool[@]}" = "${#quiet_runs[@]}" ] && echo "quiet ")runs; p99 (steal) of every run: $listed" "${pool[$mid]}"
  done
done
# the floor ratio in alternating pairs of runs (validate, noop, noop, validate, ...), as single runs can fall on
# different moments of the host's load; five pairs, as pairs of one run spread by about +-0.05
pod_validate() { run_wrk /validate "$samples/pod-10k.json" 16 0 "$secs"; }
pod_noop() { run_wrk /noop "$samples/pod-10k.json" 16 0 "$secs"; }
quiet_pairs 5 pod_validate pod_noop
floor_ratios=("${pairs_ratios[@]}")
floor_list=$pairs_list
kill "$sampler" 2>/dev/null
rss_kb=$(sort -n "$rss_samples" | tail -1)
rss_median_kb=$(median $(cat "$rss_samples"))
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
# Both servers start fresh the same way (one with the extra policies), get the same warm-up, and are measured in
# alternating runs (A B, B A, A B, ...), so that JIT warm-up and background load fall on both alike.
rounds="${BENCH_ROUNDS:-3}"
port2=$((port + 1))
start_server "" "$port" server-base
pid2=$pid   # the server without the extra policies; cleanup stops both
start_server "--policies $extra" "$port2" server-extra
warm_up "$port" "$port2"
with_extra_run() { run_wrk /validate "$samples/pod-10k.json" 16 0 "$secs" "$port2"; }
without_run() { run_wrk /validate "$samples/pod-10k.json" 16 0 "$secs" "$port"; }
quiet_pairs "$rounds" with_extra_run without_run
stop_server
fresh=$(median "${pairs_b[@]}")
with_extra=$(median "${pairs_a[@]}")

base=${sat[pod-10k/validate]}
floor=${sat[pod-10k/noop]}
{
  echo
  echo "- throughput vs the no-op floor (10 KB Pod): $(median "${floor_ratios[@]}")x, median of ${#floor_ratios[@]}" \
    "alternating pairs of runs; every pair, validate/noop (steal in each run): $floor_list; in the table's single" \
    "runs $(awk "BEGIN{printf \"%.2f\", $base/$floor}")x ($base / $floor req/s)"
  echo "- RSS under load, sampled every second during the runs above: at most $((rss_kb / 1024)) MB (median" \
    "$((${rss_median_kb%.*} / 1024)) MB; the process's peak including startup: $((hwm_kb / 1024)) MB)"
  echo "- 100 extra policies on ConfigMaps, 10 KB Pod at saturation, two fresh servers warmed up alike, median of" \
    "${#pairs_a[@]} alternating runs each: $fresh req/s without, $with_extra req/s with" \
    "($(awk "BEGIN{printf \"%+.1f\", ($with_extra/$fresh-1)*100}")%; with/without per round (steal with/without):" \
    "$pairs_list)"
  echo "- steal: CPU time the hypervisor gave to other guests during the run (/proc/stat), as a share of all CPU time;" \
    "a run with more than $quiet_steal% is repeated 5 s later: a saturation run up to three times (the row shows the" \
    "last), a fixed rate until three runs are quiet (at most nine), a floor pair until five are quiet (at most ten)," \
    "a round of the comparison until three are quiet (at most six); when too few are quiet, all are used"
} >>"$report"
cat "$report"
