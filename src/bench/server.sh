# Sourced by bench.sh and startup.sh (needs $home, $jar and $out): the JVM flags the Deployment runs the server with,
# the launcher's class-data-sharing archive, and waiting for the server to be ready.

# the Deployment's JAVA_TOOL_OPTIONS (webhook-config/base/deployment.yaml), and its memory limit as the JVM would see
# it in the pod (MaxRAMPercentage applies to it)
deployment="$home/webhook-config/base/deployment.yaml"
heap_flags="$(sed -n '/JAVA_TOOL_OPTIONS/{n;s/.*value: "\(.*\)"/\1/p}' "$deployment")"
heap_flags="$heap_flags -XX:MaxRAM=${BENCH_MAX_RAM:-$(sed -n '/limits:/{n;s/.*memory: *\([0-9]*\)Mi.*/\1m/p}' \
  "$deployment")}"

# the class-data-sharing archive the launcher makes after each build, as the JVM image makes its own
# (EGRESS_GUARD_CDS=0: without it)
cds_flags=""
[ -f "$(dirname "$jar")/app-cds.jsa" ] && [ "${EGRESS_GUARD_CDS:-1}" != 0 ] \
  && cds_flags="-XX:SharedArchiveFile=$(dirname "$jar")/app-cds.jsa"

# Waits until the server is ready: until it logs that it is (the line the warm-up prints as it flips readiness),
# read as the log grows (tail -F, no polling), then confirmed with one GET /q/health/ready. Polling the endpoint
# instead, as a kubelet would but every 20 ms, starts ~50 curl processes and TLS handshakes a second that compete
# with the server for the 2 cores while it starts: that made startup look 0.5-0.7 s slower. The kubelet probes
# every 2 s (the Deployment's startupProbe), which costs nothing.
# The caller empties the log before it starts the server in the background (the shell of a background job may
# open, and truncate, the file only after this has read a previous run's ready line).
wait_ready() { # $1: pid, $2: port, $3: log; exits the script with the log if the server dies or is not ready in 120 s
  local line waited=0
  coproc LOGTAIL { exec tail -n +1 -F "$3" 2>/dev/null; }
  while :; do
    if IFS= read -r -t 1 line <&"${LOGTAIL[0]}"; then
      case "$line" in *"warm-up done"*"; ready"*) break ;; esac
    else
      waited=$((waited + 1))
    fi
    if ! kill -0 "$1" 2>/dev/null || [ "$waited" -ge 120 ]; then
      kill "$LOGTAIL_PID" 2>/dev/null
      echo "$(basename "$0"): server died or was not ready in 120 s:" >&2; cat "$3" >&2; exit 1
    fi
  done
  kill "$LOGTAIL_PID" 2>/dev/null; wait "$LOGTAIL_PID" 2>/dev/null
  curl -sf --cacert "$out/tls/ca.crt" "https://localhost:$2/q/health/ready" >/dev/null || {
    curl -s --cacert "$out/tls/ca.crt" "https://localhost:$2/q/health/ready" >&2
    echo "$(basename "$0"): the server logged ready but /q/health/ready did not answer 200:" >&2; cat "$3" >&2; exit 1; }
}

# CPU time the hypervisor gave to other guests while this machine wanted it ("steal" in /proc/stat), as a share of
# all CPU time since a mark. On a shared host a run during which steal is high measures the host, not the server:
# its latencies grow at p90 already while the server's own CPU is idle. bench.sh reports it with every run and
# repeats runs that had more than BENCH_QUIET_STEAL percent (default 5).
quiet_steal="${BENCH_QUIET_STEAL:-5}"
cpu_mark() { awk '/^cpu /{ t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat; }
steal_since() { # $1: a cpu_mark; prints the percentage of CPU time stolen since
  local s0 t0 s1 t1
  read -r s0 t0 <<<"$1"
  read -r s1 t1 < <(cpu_mark)
  awk -v s="$((s1 - s0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", (t > 0 ? 100 * s / t : 0) }'
}
