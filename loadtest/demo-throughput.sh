#!/usr/bin/env bash
# Throughput and latency of the embedded gateway, side by side, in one run:
#   (1) wrk straight to the demo's shop-web backend,
#   (2) wrk through `auditgw demo` with Host: shop.demo.local,
#   (3) wrk through nginx configured as a keep-alive reverse proxy to the same backend.
# Everything listens on 127.0.0.1 only. Every step is bounded; a watchdog ends the whole
# script after MAX_SECONDS; the trap stops every process this script started.
#
# Usage: loadtest/demo-throughput.sh            (from the repository root or anywhere)
# Environment (defaults in brackets):
#   THREADS [2]  CONNECTIONS [64]  DURATION [10] (s)  WARMUP [5] (s)  wrk settings
#   PIN [0]      1 = pin wrk to CPU 1 and the servers (demo + nginx) to CPU 0 (needs 2+ CPUs)
#   BUILD [auto] 1 = always `dotnet build -c Release gateway`; 0 = never; auto = when missing
#   MAX_SECONDS [240] watchdog for the whole script
# Needs: dotnet, wrk, nginx (Debian: apt-get install -y wrk nginx-light), curl.
set -euo pipefail
# shellcheck source=loadtest/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-5}
PIN=${PIN:-0}
BUILD=${BUILD:-auto}
MAX_SECONDS=${MAX_SECONDS:-240}
HOST_HEADER=shop.demo.local

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dll=$repo/gateway/bin/Release/net10.0/auditgw.dll
for tool in dotnet wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "demo-throughput: '$tool' not found (apt-get install -y wrk nginx-light curl)" >&2; exit 2; }
done

scratch_with_watchdog demo-throughput "$MAX_SECONDS"

if [[ $BUILD == 1 || ( $BUILD == auto && ! -f $dll ) ]]; then
  echo "building gateway (Release)..."
  timeout 300 dotnet build -c Release "$repo/gateway" -v quiet -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
fi

server_cpu=()
wrk_cpu=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || { echo "demo-throughput: PIN=1 needs taskset" >&2; exit 2; }
  server_cpu=(taskset -c 0)
  wrk_cpu=(taskset -c 1)
fi

# --- the demo, on free ports (port 0; the real ports are in its listening line) ---
(cd "$work" && exec "${server_cpu[@]}" dotnet "$dll" demo --manifests "$work/manifests" \
  --http 127.0.0.1:0 --https 127.0.0.1:0 --admin 127.0.0.1:0 >"$work/demo.log" 2>&1) &
demo_pid=$!
pids+=("$demo_pid")
for _ in $(seq 1 600); do
  grep -q '^auditgw: listening' "$work/demo.log" && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log" >&2; echo "demo-throughput: auditgw demo exited" >&2; exit 1; }
  sleep 0.1
done
listening=$(grep -m1 '^auditgw: listening' "$work/demo.log") || { cat "$work/demo.log" >&2; echo "demo-throughput: no listening line in 60s" >&2; exit 1; }
gw_port=$(sed -E 's/.* http=[^ ]*:([0-9]+) .*/\1/' <<<"$listening")
admin_port=$(sed -E 's/.* admin=[^ ]*:([0-9]+).*/\1/' <<<"$listening")

# The shop-web backend: from the route table in force, else from the manifest's EndpointSlice.
backend=""
if command -v jq >/dev/null; then
  backend=$(curl -sf --max-time 5 "http://127.0.0.1:$admin_port/api/routes" \
    | jq -r '.routes[] | select(.id == "demo/shop:shop.demo.local/:Prefix") | .backend.destinations[0]' || true)
fi
if [[ -z $backend || $backend == null ]]; then
  port=$(grep -m1 -E '^ *targetPort: [0-9]+' "$work/manifests/shop.yaml" | grep -oE '[0-9]+$')
  backend=127.0.0.1:$port
fi

# --- nginx as a keep-alive reverse proxy to the same backend ---
nginx_port=$(free_port)
mkdir -p "$work/nginx"
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root root;"
cat >"$work/nginx/nginx.conf" <<EOF
# Temporary: written and removed by loadtest/demo-throughput.sh. Loopback only.
$user_line
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream shop { server $backend; keepalive 128; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Port \$server_port;
      proxy_set_header X-Request-ID \$request_id;
    }
  }
}
EOF
nginx -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx/" 2>"$work/nginx/test.log" || { cat "$work/nginx/test.log" >&2; exit 1; }
"${server_cpu[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx/" 2>>"$work/nginx/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")

# Every target must answer 200 from shop-web before it is measured.
check() { # url host
  local code
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Host: $2" "$1" || true)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  echo "demo-throughput: $1 (Host: $2) answers $code, not 200" >&2
  exit 1
}
check "http://$backend/" "$HOST_HEADER"
check "http://127.0.0.1:$gw_port/" "$HOST_HEADER"
check "http://127.0.0.1:$nginx_port/" "$HOST_HEADER"

# CPU time (ms) used so far by a process and its children that are still running.
cpu_ms() {
  local total=0 pid ticks
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + ticks))
  done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}


declare -A rps p50 p99 errors cpu
measure() { # name url server-pids...
  local name=$1 url=$2 out cpu_before cpu_after requests
  shift 2
  timeout $((WARMUP + 30)) "${wrk_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "Host: $HOST_HEADER" "$url" >/dev/null
  cpu_before=$(cpu_ms "$@")
  out=$(timeout $((DURATION + 30)) "${wrk_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Host: $HOST_HEADER" "$url")
  cpu_after=$(cpu_ms "$@")
  echo "$out" >"$work/wrk-$name.txt"
  rps[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  read -r "p50[$name]" "p99[$name]" "errors[$name]" < <(wrk_summary <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  # Server CPU per 1000 requests: the cost that does not depend on how the 2 cores are shared.
  cpu[$name]=$(awk -v c=$((cpu_after - cpu_before)) -v r="$requests" 'BEGIN {printf "%.1f", (r > 0 ? c * 1000 / r : 0)}')
}

# The numbers are only as good as the machine is quiet: say how busy it was just before.
busy=$(busy_pct)
echo "machine busy before measuring: ${busy}% of all CPUs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
(( busy < 10 )) || echo "demo-throughput: WARNING: other processes use the CPUs; the numbers below are skewed by them" >&2
echo "auditgw demo: gateway 127.0.0.1:$gw_port, shop-web backend $backend, nginx 127.0.0.1:$nginx_port"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after a ${WARMUP}s warm-up each), Host: $HOST_HEADER, pinned: $PIN, $(nproc) CPUs"
# The backends run inside the demo process, so its CPU counts the backend's share in every row.
measure direct "http://$backend/" "$demo_pid"
measure gateway "http://127.0.0.1:$gw_port/" "$demo_pid"
measure nginx "http://127.0.0.1:$nginx_port/" "$demo_pid" "$nginx_pid"

printf '\n%-8s %12s %10s %10s %8s %22s\n' target requests/s p50_ms p99_ms errors server_cpu_ms/1k_req
for name in direct gateway nginx; do
  printf '%-8s %12s %10s %10s %8s %22s\n' "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${errors[$name]}" "${cpu[$name]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
echo
echo "gateway/direct: requests/s $(ratio "${rps[gateway]}" "${rps[direct]}"), p99 $(ratio "${p99[gateway]}" "${p99[direct]}")x"
echo "gateway/nginx:  requests/s $(ratio "${rps[gateway]}" "${rps[nginx]}"), p99 $(ratio "${p99[gateway]}" "${p99[nginx]}")x"
if [[ ${errors[direct]} != 0 || ${errors[gateway]} != 0 || ${errors[nginx]} != 0 ]]; then
  echo "demo-throughput: some responses were errors; the numbers above are not comparable (see wrk output)" >&2
  exit 1
fi
