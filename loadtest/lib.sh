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
