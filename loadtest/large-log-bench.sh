#!/usr/bin/env bash
# Reports, search, proofs and verify over a large generated log (issue 15's goal table).
# Usage: bash loadtest/large-log-bench.sh [entries (10000000)] [directory (/tmp/auditgw-large-<entries>)]
# The log is made once (auditgw audit-load --rate 1000: 40 routes, 500 identities, 2,000 clients,
# mixed statuses and denials, long-tailed latencies, 1,000 entries a second of ts) and kept for reruns.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-10000000}
dir=${2:-/tmp/auditgw-large-$entries}
dotnet build -c Release gateway -v quiet -nologo >/dev/null
gw=(dotnet gateway/bin/Release/net10.0/auditgw.dll)

if [ ! -f "$dir/.made" ]; then
  rm -rf "$dir"
  echo "making a log of $entries entries in $dir"
  /usr/bin/time -f "  audit-load: %e s" "${gw[@]}" audit-load --data "$dir" --count "$entries" --rate 1000 --durable-every 100000 >/dev/null
  /usr/bin/time -f "  rollups (built offline; the gateway keeps them as it writes): %e s" "${gw[@]}" rollups --data "$dir"
  /usr/bin/time -f "  search index (first search builds it): %e s" "${gw[@]}" search --data "$dir" --request-id 0HN7000000000001 >/dev/null
  touch "$dir/.made"
fi
echo "log: $(du -sh "$dir/log" | cut -f1) sealed, rollup/ $(du -sh "$dir/rollup" | cut -f1), index/ $(du -sh "$dir/index" | cut -f1), tree/ $(du -sh "$dir/tree" | cut -f1)"

# Median wall time of three runs of a command, in seconds.
median() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | awk '{printf "%.3f", $1 / 1000}'
}

row() {
  local what=$1 goal=$2; shift 2
  local seconds
  seconds=$(median "$@")
  printf '| %s | %s | %s s | %.1f× |\n' "$what" "$goal" "$seconds" "$(echo "$seconds / $baseline" | bc -l)"
}

baseline=$(median "${gw[@]}" report --help)
echo
echo "| what | goal | median of 3 | × process start |"
echo "|---|---|---|---|"
printf '| process start (`auditgw report --help`, the baseline) | | %s s | 1.0× |\n' "$baseline"
row '`report --by route` (rollups, whole log)' '≤ 1 s' "${gw[@]}" report --data "$dir" --by route
row '`report --by route --from -100m --to -40m` (rollups, cut minutes read)' '≤ 1 s' "${gw[@]}" report --data "$dir" --by route --from -100m --to -40m
row '`report --by route --verify` (full scan)' '≤ 10 s' "${gw[@]}" report --data "$dir" --by route --verify
row '`verify`' '≥ 1M entries/s' "${gw[@]}" verify --data "$dir"
row '`search --request-id` (index)' '≤ 500 ms' "${gw[@]}" search --data "$dir" --request-id "0HN7$(printf '%012X' $((entries / 3)))"
row '`search --identity` first page (index)' '≤ 500 ms' "${gw[@]}" search --data "$dir" --identity user42@example.com
row '`proof inclusion` (stored tree)' '≤ 50 ms in-process' "${gw[@]}" proof inclusion --data "$dir" --seq $((entries / 2))

echo
echo "p99 from the rollups against the exact p99 of the entries, per route (the worst of 40):"
"${gw[@]}" report --data "$dir" --by route --rollups --format json > "$dir/.report.json"
zstdcat "$dir"/log/*.jsonl.zst | cat - "$dir"/log/*.jsonl 2>/dev/null | python3 -c '
import json, sys
lat = {}
for line in sys.stdin:
    if "\"kind\":\"request\"" not in line:
        continue
    e = json.loads(line)["request"]
    if e["route"]:
        lat.setdefault(e["route"]["id"], []).append(e["latencyUs"])
report = {r["route"]: r["latency"]["p99"] for r in json.load(open(sys.argv[1]))["routes"]}
worst = 0.0
for route, values in lat.items():
    values.sort()
    exact = values[int(0.99 * (len(values) - 1))]
    worst = max(worst, abs(report[route] - exact) / exact)
print(f"  worst relative error {worst * 100:.3f} % (goal <= 1 %) over {sum(map(len, lat.values()))} requests")
' "$dir/.report.json"
