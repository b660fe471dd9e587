# Shell helpers shared by the wrk scripts in loadtest/ (sourced, not run).

# wrk's latency (812.00us, 1.23ms, 2.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { print "nan" } }'
}

# wrk --latency output on stdin -> "p50_ms p99_ms errors" (non-2xx/3xx responses plus socket errors).
wrk_summary() {
  local out; out=$(cat)
  printf '%s %s %s\n' \
    "$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")" \
    "$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")" \
    "$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {n += 1} END {print n + 0}' <<<"$out")"
}

# How busy all CPUs were over one second, in percent: the numbers are only as good as the machine is quiet.
busy_pct() {
  local a b
  a=($(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)); sleep 1
  b=($(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat))
  awk -v u=$((b[0] - a[0])) -v i=$((b[1] - a[1])) 'BEGIN {printf "%.0f", ((u + i) > 0 ? 100 * u / (u + i) : 0)}'
}

# Sets up a script's scratch space: $work, a directory removed on exit, and $pids, the processes
# stopped on exit (append every process started); a watchdog stops the whole script after
# max-seconds. Messages start with the script's name.
scratch_with_watchdog() { # name max-seconds
  local name=$1 max=$2
  work=$(mktemp -d "/tmp/auditgw-$name.XXXXXX")
  chmod 755 "$work"
  pids=()
  SCRATCH_NAME=$name
  trap scratch_cleanup EXIT
  trap 'echo "$SCRATCH_NAME: interrupted" >&2; exit 130' INT TERM
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$max" & nap=$!
    wait "$nap" && { echo "$name: watchdog: still running after ${max}s, stopping" >&2; kill -TERM $$; }
  ) &
  pids+=($!)
}

scratch_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}

# A loopback TCP port nothing listens on (exits the script when none of 50 tries is free).
free_port() {
  local candidate
  for candidate in $(shuf -i 20000-60000 -n 50); do
    ss -Htln "sport = :$candidate" | grep -q . || { echo "$candidate"; return 0; }
  done
  echo "${SCRATCH_NAME:-loadtest}: no free port" >&2; exit 1
}
