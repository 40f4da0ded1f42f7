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

wait_ready() { # $1: pid, $2: port, $3: log; exits the script with the log if the server dies first
  until curl -sf --cacert "$out/tls/ca.crt" "https://localhost:$2/q/health/ready" >/dev/null 2>&1; do
    kill -0 "$1" 2>/dev/null || { echo "$(basename "$0"): server died:" >&2; cat "$3" >&2; exit 1; }
    sleep 0.02
  done
}
