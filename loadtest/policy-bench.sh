#!/usr/bin/env bash
# Issue 4's benchmark: the cost of inline enforcement, side by side in one run with the same wrk settings.
#   yarp     : loadtest/bareyarp: bare YARP as it is deployed (one catch-all route to one cluster, in-memory
#              config, MapReverseProxy, YARP's default transforms) -> backend. The goals are judged against it.
#   forwarder: loadtest/bareyarp --forwarder: the floor under that, YARP's direct forwarder with no routing
#              and no transforms -> backend. Reported alongside, for how much of the cost is the gateway's own.
#   gateway  : auditgw run (Release) with the audit log on, JWT validation on every request
#              (policy.defaultAuth: jwt, an RS256 issuer from a keysFile) and 1,000 CIDR rules
#              (policy.denySourceRange, none containing 127.0.0.1) plus an allow-source-range
#              annotation on the Ingress -> the same backend
# The backend is nginx answering a static 200 from its own process. wrk sends the same valid bearer
# token to both. Extra rows for finding where the cost is (VARIANTS): gateway-nojwt (same rules, no
# JWT) and gateway-plain (no JWT, no rules; the audit log stays on, it cannot be turned off).
# TRACED=1 adds gateway-traced to every round: the full gateway with tracing at a 10 % ratio, exporting
# OTLP/HTTP to a local receiver (a second nginx server answering 200 to every export), judged like the gateway.
# NGINX=1 adds nginx-proxy to every round (issue 19's comparison): nginx as a reverse proxy in its own process,
# upstream keep-alive, a buffered JSON access log (buffer=64k flush=50ms) and the same 1,000 CIDR rules as
# deny lines (none containing 127.0.0.1), to the same backend.
# PROFILE=1 after the rounds loads yarp and the gateway once more each under `perf record` (JIT symbols from the
# runtime's perf map) and prints where their CPU time goes, and the gateway's allocations and GCs per request
# (from its /metrics), for finding where the time goes (loadtest/README.md "Where the time goes").
# H2=1 (implies NGINX=1) also loads nginx-proxy, yarp and the gateway over HTTP/2 with prior knowledge (h2c) with h2load,
# in rounds of their own after the HTTP/1.1 rounds: nginx on an `http2` listener, bareyarp --h2c, the gateway's plain listener.
# REDIS=1 gives every gateway row redis.connection to a redis-server of its own on loopback (docs/replicas.md).
# Everything listens on 127.0.0.1 only; every step is bounded; the trap stops what this script started.
#
# Usage: loadtest/policy-bench.sh
# Environment (defaults in brackets):
#   THREADS [2] CONNECTIONS [64] DURATION [10] (s) WARMUP [15] (s)   wrk settings, the same for every row
#   ROUNDS [6]  measures yarp and gateway back to back (alternating which goes first), then forwarder, this many
#               times; the verdict is on the median round
#   VARIANTS [0] 1 = also measure gateway-nojwt and gateway-plain
#   TRACED [0]   1 = also measure gateway-traced in every round (telemetry.traceSampleRatio 0.1, OTLP set)
#   REDIS [0]    1 = the gateways share state through a local redis-server (needs redis-server)
#   NGINX [0]    1 = also measure nginx-proxy in every round (gateway/nginx ratios printed too)
#   H2 [0]       1 = also measure over HTTP/2 with h2load (-t THREADS -c CONNECTIONS -m STREAMS [10] -D DURATION)
#   PROFILE [0]  1 = also profile yarp and the gateway after the rounds (needs perf: apt-get install -y linux-perf)
#   GATEWAY_DLL [gateway/bin/Release/net10.0/auditgw.dll]  another build of the gateway to measure (not built here)
#   INGRESSES [1] Ingresses the gateways load (the measured one and INGRESSES - 1 on other hosts)
#   GATEWAY_ENV []  NAME=VALUE ... given to the gateway processes only (runtime settings to compare, e.g.
#               DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 for the runtime's default)
#   GATEWAY_B_ENV [] NAME=VALUE ...: also measure gateway-b, the full gateway with these settings, beside the gateway
#               in every round (A/B of runtime settings in one run; its ratios to the gateway are printed)
#   BUILD [auto] 1 = always build Release; 0 = never; auto = when missing
#   THREAD_CPU [0] 1 = also print each measured process's CPU per request by thread name
#   MAX_SECONDS [600] watchdog for the whole script
# Needs: dotnet, wrk, nginx, openssl, curl (Debian: apt-get install -y wrk nginx-light openssl curl).
set -euo pipefail
# shellcheck source=loadtest/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-15}
ROUNDS=${ROUNDS:-6}
VARIANTS=${VARIANTS:-0}
TRACED=${TRACED:-0}
REDIS=${REDIS:-0}
NGINX=${NGINX:-0}
PROFILE=${PROFILE:-0}
H2=${H2:-0}
STREAMS=${STREAMS:-10}
INGRESSES=${INGRESSES:-1}
[[ $H2 == 1 ]] && NGINX=1
BUILD=${BUILD:-auto}
MAX_SECONDS=${MAX_SECONDS:-600}
HOST_HEADER=bench.local
ISSUER=https://bench.example/
AUDIENCE=api://bench

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gateway_dll=${GATEWAY_DLL:-$repo/gateway/bin/Release/net10.0/auditgw.dll}
bare_dll=$repo/loadtest/bareyarp/bin/Release/net10.0/bareyarp.dll
for tool in dotnet wrk nginx openssl curl; do
  command -v "$tool" >/dev/null || { echo "policy-bench: '$tool' not found (apt-get install -y wrk nginx-light openssl curl)" >&2; exit 2; }
done

[[ $H2 == 1 ]] && ! command -v h2load >/dev/null && { echo "policy-bench: H2=1 needs h2load (apt-get install -y nghttp2-client)" >&2; exit 2; }
scratch_with_watchdog policy-bench "$MAX_SECONDS"
if [[ $PROFILE == 1 ]]; then
  command -v perf >/dev/null || { echo "policy-bench: PROFILE=1 needs perf (apt-get install -y linux-perf)" >&2; exit 2; }
  # The runtime writes /tmp/perf-<pid>.map so perf can name JIT-compiled methods.
  # Without W^X double mapping, so the map's addresses are where the code runs (else perf sees memfd:doublemapper).
  export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
fi

build() { # project dll
  if [[ $BUILD == 1 || ( $BUILD == auto && ! -f $2 ) ]]; then
    echo "building $1 (Release)..."
    timeout 300 dotnet build -c Release "$repo/$1" -v quiet -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
  fi
}
[[ -n ${GATEWAY_DLL:-} ]] || build gateway "$gateway_dll"
[[ -f $gateway_dll ]] || { echo "policy-bench: no gateway build at $gateway_dll" >&2; exit 2; }
build loadtest/bareyarp "$bare_dll"

# --- the backend: nginx, a static 200 with keep-alive ---
backend_port=$(free_port)
otlp_port=$(free_port)
mkdir -p "$work/nginx"
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root root;"
cat >"$work/nginx/nginx.conf" <<EOF
# Temporary: written and removed by loadtest/policy-bench.sh. Loopback only.
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$backend_port;
    location / { default_type text/plain; return 200 "hello from the backend\n"; }
  }
  # NGINX=1: nginx as the proxy under test (its own process below), not this backend.
  # The OTLP receiver of TRACED=1: an empty protobuf answer is a valid ExportServiceResponse.
  server {
    listen 127.0.0.1:$otlp_port;
    client_max_body_size 64m;
    location / { default_type application/x-protobuf; return 200 ""; }
  }
}
EOF
nginx -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx/" 2>"$work/nginx/test.log" || { cat "$work/nginx/test.log" >&2; exit 1; }
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx/" 2>>"$work/nginx/error.log" &
pids+=($!)


# --- REDIS=1: a redis-server on loopback, no persistence ---
redis_port=""
if [[ $REDIS == 1 ]]; then
  command -v redis-server >/dev/null || { echo "policy-bench: REDIS=1 needs redis-server (apt-get install -y redis-server)" >&2; exit 2; }
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
fi

# --- an RS256 issuer: key pair, the public key as the keysFile, one token valid for an hour ---
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/issuer.key" 2>/dev/null
openssl pkey -in "$work/issuer.key" -pubout -out "$work/issuer.pub.pem"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"%s","aud":"%s","sub":"bench-user","azp":"wrk","scope":"bench","iat":%d,"nbf":%d,"exp":%d}' \
  "$ISSUER" "$AUDIENCE" "$now" "$now" $((now + 3600)) | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$work/issuer.key" -binary | b64url)
token="$header.$payload.$signature"

# --- 1,000 CIDR rules, none containing 127.0.0.1: 900 IPv4 /24 in 10.0.0.0/8 and 100 IPv6 /48 ---
deny_ranges() {
  local i
  for ((i = 0; i < 900; i++)); do printf '"10.%d.%d.0/24", ' $((i / 250)) $((i % 250)); done
  for ((i = 0; i < 99; i++)); do printf '"2001:db8:%x::/48", ' "$i"; done
  printf '"2001:db8:ffff::/48"'
}

# --- NGINX=1: nginx as a reverse proxy, configured as issue 19 describes, in its own process ---
proxy_port="" proxy_h2_port=""
proxy_server() { # port [http2]: one server block of the nginx proxy
  echo "  server {"
  echo "    listen 127.0.0.1:$1${2:+ $2};"
  deny_ranges | tr -d '"' | tr ',' '\n' | sed -E 's/^ *(.+)$/    deny \1;/'
  echo "    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$host; }"
  echo "  }"
}
if [[ $NGINX == 1 ]]; then
  proxy_port=$(free_port)
  proxy_h2_port=$(free_port)
  mkdir -p "$work/nginx-proxy"
  {
    echo "# Temporary: written and removed by loadtest/policy-bench.sh. Loopback only."
    echo "$user_line"
    echo "daemon off; worker_processes 1; pid $work/nginx-proxy/nginx.pid; error_log $work/nginx-proxy/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  log_format json escape=json '{\"ts\":\"\$time_iso8601\",\"client\":\"\$remote_addr\",\"method\":\"\$request_method\",\"host\":\"\$host\",\"uri\":\"\$request_uri\",\"status\":\$status,\"bytes\":\$body_bytes_sent,\"rt\":\$request_time,\"urt\":\"\$upstream_response_time\",\"ua\":\"\$http_user_agent\"}';"
    echo "  access_log $work/nginx-proxy/access.log json buffer=64k flush=50ms;"
    echo "  keepalive_requests 1000000;"
    for dir in client_body proxy fastcgi uwsgi scgi; do echo "  ${dir}_temp_path $work/nginx-proxy/$dir;"; done
    echo "  upstream backend { server 127.0.0.1:$backend_port; keepalive 64; }"
    proxy_server "$proxy_port"
    # H2=1: the same proxy over HTTP/2 with prior knowledge.
    proxy_server "$proxy_h2_port" http2
    echo "}"
  } >"$work/nginx-proxy/nginx.conf"
  nginx -t -q -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy/" 2>"$work/nginx-proxy/test.log" || { cat "$work/nginx-proxy/test.log" >&2; exit 1; }
fi

manifests() { # dir annotations-yaml
  mkdir -p "$1"
  cat >"$1/bench.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: { name: backend, namespace: default }
spec:
  ports: [{ name: http, port: 80, targetPort: $backend_port }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: default
  labels: { kubernetes.io/service-name: backend }
addressType: IPv4
ports: [{ name: http, port: $backend_port }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bench
  namespace: default
  annotations: {$2}
spec:
  ingressClassName: auditgateway
  rules:
    - host: $HOST_HEADER
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: backend, port: { number: 80 } } } }]
EOF
  # INGRESSES > 1: that many Ingresses loaded in all, the others on hosts of their own (wrk never asks for them).
  local i
  ((INGRESSES > 1)) || return 0
  for ((i = 2; i <= INGRESSES; i++)); do
    printf -- '---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: extra-%d, namespace: default }\n' "$i"
    printf 'spec:\n  ingressClassName: auditgateway\n  rules:\n    - host: extra-%d.bench.local\n' "$i"
    printf '      http:\n        paths: [{ path: /, pathType: Prefix, backend: { service: { name: backend, port: { number: 80 } } } }]\n'
  done >"$1/extra.yaml"
}

# gateway config: full = JWT + 1,000 rules; traced = full + 10 % tracing over OTLP; nojwt = rules only; plain = neither.
gateway_config() { # dir kind
  local dir=$1 kind=$2
  [[ $kind == b ]] && kind=full
  mkdir -p "$dir"
  cp "$work/issuer.pub.pem" "$dir/"
  {
    echo "audit: { flushInterval: 50ms, checkpointInterval: 1s }"
    [[ -n $redis_port ]] && echo "redis: { connection: \"redis://127.0.0.1:$redis_port\" }"
    if [[ $kind == traced ]]; then
      echo "telemetry: { otlpEndpoint: \"http://127.0.0.1:$otlp_port\", otlpProtocol: http/protobuf, traceSampleRatio: 0.1 }"
    fi
    if [[ $kind == full || $kind == traced ]]; then
      printf 'identity:\n  jwt:\n    issuers:\n      - { issuer: "%s", audiences: ["%s"], keysFile: issuer.pub.pem }\n' "$ISSUER" "$AUDIENCE"
    fi
    echo "policy:"
    [[ $kind == full || $kind == traced ]] && echo "  defaultAuth: jwt"
    [[ $kind != plain ]] && echo "  denySourceRange: [$(deny_ranges)]"
    echo "  probeDetection: { enabled: true }"
  } >"$dir/gateway.yaml"
  if [[ $kind == plain ]]; then
    manifests "$dir/manifests" ""
  else
    manifests "$dir/manifests" '"auditgateway.io/allow-source-range": "127.0.0.0/8, ::1/128, 192.168.0.0/16"'
  fi
}

start_gateway() { # kind -> sets gw_port, gw_pid
  local dir=$work/gw-$1
  gateway_config "$dir" "$1"
  local settings=${GATEWAY_ENV:-}
  [[ $1 == b ]] && settings=$GATEWAY_B_ENV
  # shellcheck disable=SC2086 # the settings are a list of NAME=VALUE words
  (cd "$dir" && exec env $settings dotnet "$gateway_dll" run --manifests "$dir/manifests" --config "$dir/gateway.yaml" --data "$dir/data" \
    --http 127.0.0.1:0 --https 127.0.0.1:0 --admin 127.0.0.1:0 >"$dir/out.log" 2>&1) &
  gw_pid=$!
  pids+=("$gw_pid")
  for _ in $(seq 1 600); do
    grep -q '^auditgw: listening' "$dir/out.log" && break
    kill -0 "$gw_pid" 2>/dev/null || { cat "$dir/out.log" >&2; echo "policy-bench: auditgw exited" >&2; exit 1; }
    sleep 0.1
  done
  gw_port=$(grep -m1 '^auditgw: listening' "$dir/out.log" | sed -E 's/.* http=[^ ]*:([0-9]+) .*/\1/')
  [[ -n $gw_port ]] || { cat "$dir/out.log" >&2; echo "policy-bench: no listening line in 60s" >&2; exit 1; }
  if [[ -n $redis_port ]]; then
    local admin_port
    admin_port=$(grep -m1 '^auditgw: listening' "$dir/out.log" | sed -E 's/.* admin=[^ ]*:([0-9]+) .*/\1/')
    for _ in $(seq 1 100); do
      curl -s --max-time 2 "http://127.0.0.1:$admin_port/readyz" | grep -q '"up": true' && return 0
      sleep 0.1
    done
    echo "policy-bench: auditgw ($1) did not reach Redis at 127.0.0.1:$redis_port in 10 s" >&2
    exit 1
  fi
}

stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Every target must answer 200 with the token before it is measured (and the gateway must refuse without it).
check() { # url expected-status [token]
  local code auth=()
  [[ -n ${3:-} ]] && auth=(-H "Authorization: Bearer $3")
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Host: $HOST_HEADER" "${auth[@]}" "$1" || true)
    [[ $code == "$2" ]] && return 0
    sleep 0.1
  done
  echo "policy-bench: $1 answers $code, not $2" >&2
  exit 1
}


# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { # pid
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# "thread-name ticks" for each thread of a process (the name may contain spaces; it sits in parentheses).
thread_ticks() { # pid
  local stat
  for stat in /proc/"$1"/task/*/stat; do
    sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1|\2/' "$stat" 2>/dev/null | awk -F'|' '{split($2, f, " "); print $1 "|" f[12] + f[13]}'
  done
}

declare -A rps p50 p99 errors cpu_us rss_mb
rows=()
wrk_load() { # seconds url [wrk options...]: the same wrk settings, host and token for every target
  timeout $(($1 + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" "${@:3}" -H "Host: $HOST_HEADER" -H "Authorization: Bearer $token" "$2"
}

warm() { # url
  wrk_load "$WARMUP" "$1" >/dev/null
}

measure() { # name url pid-of-the-proxy
  local name=$1 url=$2 pid=$3 out before after
  [[ ${THREAD_CPU:-0} == 1 ]] && thread_ticks "$pid" >"$work/threads-before"
  before=$(cpu_ticks "$pid")
  out=$(wrk_load "$DURATION" "$url" --latency)
  after=$(cpu_ticks "$pid")
  rss_mb[$name]=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  echo "$out" >"$work/wrk-$name.txt"
  [[ -n ${SHOW_WRK:-} ]] && echo "$out"
  rps[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  if [[ ${THREAD_CPU:-0} == 1 ]]; then
    thread_ticks "$pid" >"$work/threads-after"
    echo "$name: CPU per request by thread (us):"
    awk -F'|' -v hz="$(getconf CLK_TCK)" -v n="$(awk -v r="${rps[$name]}" -v d="$DURATION" 'BEGIN {print r * d}')" '
      FNR == NR {b[$1] += $2; next} {a[$1] += $2}
      END {for (t in a) if (a[t] - b[t] > 0) printf "  %-24s %6.1f\n", t, (a[t] - b[t]) / hz * 1e6 / n}' \
      "$work/threads-before" "$work/threads-after" | sort -k2 -t$'\t' -rn
  fi
  # The proxy's own CPU per request, in microseconds: what it costs apart from wrk and the backend.
  cpu_us[$name]=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="${rps[$name]}" -v d="$DURATION" \
    'BEGIN {printf "%.1f", (r > 0 ? t / hz * 1e6 / (r * d) : 0)}')
  read -r "p50[$name]" "p99[$name]" "errors[$name]" < <(wrk_summary <<<"$out")
  rows+=("$name")
}

check "http://127.0.0.1:$backend_port/" 200

load=$(busy_pct)
echo "machine busy before measuring: ${load}% of all CPUs (load average $(cut -d' ' -f1-3 /proc/loadavg)), $(nproc) CPUs"
(( load < 10 )) || echo "policy-bench: WARNING: other processes use the CPUs; the numbers below are skewed by them" >&2
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (each target warmed up once for ${WARMUP}s), Host: $HOST_HEADER, Authorization: Bearer <RS256 token>"
echo "backend: nginx 127.0.0.1:$backend_port (static 200)"
[[ -n $redis_port ]] && echo "redis: every gateway row has redis.connection redis://127.0.0.1:$redis_port (and reached it)"

# yarp, forwarder and gateway all run from the start, and each is warmed up once. The rounds then load
# them one at a time, so the rows a round compares are measured within seconds of one another: this
# machine's speed drifts by up to 15 % over minutes. An idle target uses no CPU worth counting.
declare -A url pid
for mode in yarp forwarder; do
  port=$(free_port)
  flag=()
  [[ $mode == forwarder ]] && flag=(--forwarder)
  dotnet "$bare_dll" "127.0.0.1:$port" "http://127.0.0.1:$backend_port/" "${flag[@]}" >"$work/$mode.log" 2>&1 &
  pid[$mode]=$!
  pids+=("${pid[$mode]}")
  url[$mode]=http://127.0.0.1:$port/
  for _ in $(seq 1 300); do
    grep -q '^bareyarp: listening' "$work/$mode.log" && break
    kill -0 "${pid[$mode]}" 2>/dev/null || { cat "$work/$mode.log" >&2; echo "policy-bench: bareyarp ($mode) exited" >&2; exit 1; }
    sleep 0.1
  done
  check "${url[$mode]}" 200
done
start_gateway full
check "http://127.0.0.1:$gw_port/" 401
check "http://127.0.0.1:$gw_port/" 200 "$token"
pid[gateway]=$gw_pid
url[gateway]=http://127.0.0.1:$gw_port/
gw_full_dir=$work/gw-full
targets=(yarp forwarder gateway)
if [[ $NGINX == 1 ]]; then
  nginx -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy/" 2>>"$work/nginx-proxy/error.log" &
  pids+=($!)
  master=$!
  check "http://127.0.0.1:$proxy_port/" 200
  # The worker does the proxying: its CPU and memory are what is measured.
  pid[nginx-proxy]=$(pgrep -P "$master" | head -1)
  url[nginx-proxy]=http://127.0.0.1:$proxy_port/
  targets+=(nginx-proxy)
fi
if [[ $TRACED == 1 ]]; then
  start_gateway traced
  check "http://127.0.0.1:$gw_port/" 200 "$token"
  pid[gateway-traced]=$gw_pid
  url[gateway-traced]=http://127.0.0.1:$gw_port/
  targets+=(gateway-traced)
fi
if [[ -n ${GATEWAY_B_ENV:-} ]]; then
  start_gateway b
  check "http://127.0.0.1:$gw_port/" 200 "$token"
  pid[gateway-b]=$gw_pid
  url[gateway-b]=http://127.0.0.1:$gw_port/
  targets+=(gateway-b)
fi
for target in "${targets[@]}"; do
  warm "${url[$target]}"
done
# The two rows a ratio compares are loaded back to back, in alternating order (odd rounds yarp first,
# even rounds the gateway first), so neither always follows the other; the forwarder comes last.
for ((round = 1; round <= ROUNDS; round++)); do
  order=(yarp gateway forwarder)
  (( round % 2 == 0 )) && order=(gateway yarp forwarder)
  [[ $TRACED == 1 ]] && order+=(gateway-traced)
  if [[ -n ${GATEWAY_B_ENV:-} ]]; then
    # gateway-b right beside the gateway, before it in odd rounds and after it in even ones
    if (( round % 2 )); then order=(gateway-b "${order[@]}"); else order=(gateway gateway-b "${order[@]:1}"); fi
  fi
  [[ $NGINX == 1 ]] && order+=(nginx-proxy)
  for target in "${order[@]}"; do
    measure "$target#$round" "${url[$target]}" "${pid[$target]}"
  done
done

# "name value" for the gateway's runtime counters that say what a request allocates and collects.
gc_counters() { # admin-port
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
    /^dotnet_gc_heap_total_allocated_bytes(_total)? / {print "allocated", $2}
    /^dotnet_gc_collections(_total)?\{/ {match($0, /generation="[^"]*"/); print "gc_" substr($0, RSTART + 12, RLENGTH - 13), $2}'
}

profile() { # target
  local target=$1 data=$work/perf-$1.data out requests
  perf record -F 499 -g -o "$data" -p "${pid[$target]}" -- sleep "$DURATION" >/dev/null 2>"$work/perf-$target.log" &
  local recorder=$!
  out=$(wrk_load "$DURATION" "${url[$target]}")
  wait "$recorder" || true
  requests=$(awk -v r="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" -v d="$DURATION" 'BEGIN {printf "%.0f", r * d}')
  echo "--- $target under perf: $requests requests; CPU samples by module, then the hottest methods (self time) ---"
  perf report -i "$data" --stdio --no-children --sort dso --percent-limit 1 2>/dev/null | grep -E '^ +[0-9]' | head -15
  perf report -i "$data" --stdio --no-children --sort sym --percent-limit 0.7 -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40
  [[ -n ${PROFILE_KEEP:-} ]] && cp "$data" "$PROFILE_KEEP/perf-$target.data" && cp /tmp/perf-"${pid[$target]}".map "$PROFILE_KEEP/" 2>/dev/null
  profiled_requests=$requests
}

if [[ $PROFILE == 1 ]]; then
  echo
  profile yarp
  gw_admin=$(grep -m1 '^auditgw: listening' "$gw_full_dir/out.log" | sed -E 's/.* admin=[^ ]*:([0-9]+) .*/\1/')
  declare -A gc_before
  while read -r key value; do gc_before[$key]=$value; done < <(gc_counters "$gw_admin")
  profile gateway
  echo "--- gateway allocations and collections over those $profiled_requests requests ---"
  while read -r key value; do
    awk -v k="$key" -v a="${gc_before[$key]:-0}" -v b="$value" -v n="$profiled_requests" 'BEGIN {
      if (k == "allocated") printf "  allocated: %.0f bytes per request\n", (b - a) / n
      else printf "  %s collections: %d (%.2f per 10,000 requests)\n", k, b - a, (b - a) * 10000 / n }'
  done < <(gc_counters "$gw_admin")
fi


# --- H2=1: the same three proxies over HTTP/2 (h2c, prior knowledge), in rounds of their own ---
declare -A h2_rps h2_mean h2_max h2_errors h2_cpu h2_rss
h2_rows=()
h2_load() { # seconds url [h2load options...]
  timeout $(($1 + 30)) h2load -t"$THREADS" -c"$CONNECTIONS" -m"$STREAMS" -D"$1" "${@:3}" \
    -H ":authority: $HOST_HEADER" -H "Authorization: Bearer $token" "$2"
}
measure_h2() { # name url pid
  local name=$1 out before after requests
  before=$(cpu_ticks "$3")
  out=$(h2_load "$DURATION" "$2")
  after=$(cpu_ticks "$3")
  echo "$out" >"$work/h2load-$name.txt"
  h2_rss[$name]=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$3/status")
  h2_rps[$name]=$(awk '/^finished in/ {print $4}' <<<"$out")
  h2_mean[$name]=$(to_ms "$(awk '/^time for request:/ {print $6}' <<<"$out")")
  h2_max[$name]=$(to_ms "$(awk '/^time for request:/ {print $5}' <<<"$out")")
  h2_errors[$name]=$(awk '/^requests:/ {n += $10} /^status codes:/ {n += $7 + $9} END {print n + 0}' <<<"$out")
  requests=$(awk '/^requests:/ {print $8}' <<<"$out")
  h2_cpu[$name]=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN {printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0)}')
  h2_rows+=("$name")
}
if [[ $H2 == 1 ]]; then
  port=$(free_port)
  dotnet "$bare_dll" "127.0.0.1:$port" "http://127.0.0.1:$backend_port/" --h2c >"$work/yarp-h2.log" 2>&1 &
  pid[yarp-h2]=$!
  pids+=("${pid[yarp-h2]}")
  url[yarp-h2]=http://127.0.0.1:$port/
  pid[nginx-h2]=${pid[nginx-proxy]}
  url[nginx-h2]=http://127.0.0.1:$proxy_h2_port/
  pid[gateway-h2]=${pid[gateway]}
  url[gateway-h2]=${url[gateway]}
  for target in nginx-h2 yarp-h2 gateway-h2; do
    for _ in $(seq 1 100); do
      h2_load 1 "${url[$target]}" 2>/dev/null | grep -q '^status codes: [1-9][0-9]* 2xx' && break
      sleep 0.1
    done
    h2_load 1 "${url[$target]}" | grep -q '^status codes: [1-9][0-9]* 2xx' || { echo "policy-bench: $target does not answer 200 over h2c" >&2; exit 1; }
    h2_load "$WARMUP" "${url[$target]}" >/dev/null
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    order=(yarp-h2 gateway-h2 nginx-h2)
    (( round % 2 == 0 )) && order=(gateway-h2 yarp-h2 nginx-h2)
    for target in "${order[@]}"; do
      measure_h2 "$target#$round" "${url[$target]}" "${pid[$target]}"
    done
  done
  stop "${pid[yarp-h2]}"
fi
for target in "${targets[@]}"; do
  stop "${pid[$target]}"
done

if [[ $VARIANTS == 1 ]]; then
  for kind in nojwt plain; do
    start_gateway "$kind"
    check "http://127.0.0.1:$gw_port/" 200
    warm "http://127.0.0.1:$gw_port/"
    measure "gateway-$kind" "http://127.0.0.1:$gw_port/" "$gw_pid"
    stop "$gw_pid"
  done
fi

# The gateway really audited: request entries in its log (the run above wrote them).
entries=$(cat "$gw_full_dir"/data/log/*.jsonl 2>/dev/null | grep -c '"kind":"request"' || true)
echo "audit: $entries request entries in the last gateway run's log"
[[ -n ${SHOW_ENTRY:-} ]] && grep -m1 '"kind":"request"' "$gw_full_dir"/data/log/*.jsonl | head -c 3000 && echo

printf '\n%-16s %12s %10s %10s %8s %12s %12s\n' target requests/s p50_ms p99_ms errors cpu_us/req peak_rss_mb
for name in "${rows[@]}"; do
  printf '%-16s %12s %10s %10s %8s %12s %12s\n' "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${errors[$name]}" "${cpu_us[$name]}" "${rss_mb[$name]}"
done
echo
failed=0
quotient() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
difference() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }
ratios=() deltas=()
for ((round = 1; round <= ROUNDS; round++)); do
  ratio=$(quotient "${rps[gateway#$round]}" "${rps[yarp#$round]}")
  delta=$(difference "${p99[gateway#$round]}" "${p99[yarp#$round]}")
  floor_ratio=$(quotient "${rps[gateway#$round]}" "${rps[forwarder#$round]}")
  floor_delta=$(difference "${p99[gateway#$round]}" "${p99[forwarder#$round]}")
  ratios+=("$ratio")
  deltas+=("$delta")
  echo "round $round: gateway/yarp throughput ratio $ratio, p99 gateway - yarp ${delta} ms;" \
    "against the bare forwarder: ratio $floor_ratio, p99 ${floor_delta} ms"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio=$(median "${ratios[@]}")
delta=$(median "${deltas[@]}")
verdict=$(awk -v r="$ratio" -v d="$delta" 'BEGIN {print ((r >= 0.90 && d <= 1.0) ? "meets" : "misses")}')
echo "median of $ROUNDS rounds: throughput ratio $ratio (goal >= 0.90), p99 gateway - yarp $delta ms (goal <= 1 ms): $verdict the goals"
if [[ $NGINX == 1 ]]; then
  nginx_ratios=() yarp_nginx=()
  for ((round = 1; round <= ROUNDS; round++)); do
    nginx_ratios+=("$(quotient "${rps[gateway#$round]}" "${rps[nginx-proxy#$round]}")")
    yarp_nginx+=("$(quotient "${rps[yarp#$round]}" "${rps[nginx-proxy#$round]}")")
  done
  echo "nginx rounds: gateway/nginx ratios ${nginx_ratios[*]}"
  echo "median of $ROUNDS rounds: gateway/nginx throughput $(median "${nginx_ratios[@]}") (issue 19's goal >= 1.0), yarp/nginx $(median "${yarp_nginx[@]}")"
fi
if [[ -n ${GATEWAY_B_ENV:-} ]]; then
  b_ratios=() b_cpu=()
  for ((round = 1; round <= ROUNDS; round++)); do
    b_ratios+=("$(quotient "${rps[gateway-b#$round]}" "${rps[gateway#$round]}")")
    b_cpu+=("$(quotient "${cpu_us[gateway-b#$round]}" "${cpu_us[gateway#$round]}")")
  done
  echo "gateway-b ($GATEWAY_B_ENV) against gateway (${GATEWAY_ENV:-defaults}): throughput ratios ${b_ratios[*]}; CPU per request ratios ${b_cpu[*]}"
  echo "median of $ROUNDS rounds: gateway-b/gateway throughput $(median "${b_ratios[@]}"), CPU per request $(median "${b_cpu[@]}")"
fi
if [[ $TRACED == 1 ]]; then
  traced_ratios=() traced_deltas=()
  for ((round = 1; round <= ROUNDS; round++)); do
    traced_ratios+=("$(quotient "${rps[gateway-traced#$round]}" "${rps[yarp#$round]}")")
    traced_deltas+=("$(difference "${p99[gateway-traced#$round]}" "${p99[yarp#$round]}")")
  done
  echo "traced rounds: gateway-traced/yarp ratios ${traced_ratios[*]}"
  echo "median of $ROUNDS rounds, tracing at 10 %: throughput ratio $(median "${traced_ratios[@]}") (goal >= 0.90)," \
    "p99 gateway-traced - yarp $(median "${traced_deltas[@]}") ms"
fi
if [[ $H2 == 1 ]]; then
  printf '\nHTTP/2 (h2load -t%s -c%s -m%s -D%ss, h2c)\n%-16s %12s %10s %10s %8s %12s %12s\n' "$THREADS" "$CONNECTIONS" "$STREAMS" "$DURATION" \
    target requests/s mean_ms max_ms errors cpu_us/req peak_rss_mb
  for name in "${h2_rows[@]}"; do
    printf '%-16s %12s %10s %10s %8s %12s %12s\n' "$name" "${h2_rps[$name]}" "${h2_mean[$name]}" "${h2_max[$name]}" "${h2_errors[$name]}" "${h2_cpu[$name]}" "${h2_rss[$name]}"
    [[ ${h2_errors[$name]} == 0 ]] || { echo "policy-bench: $name had errors over HTTP/2 (see h2load output)" >&2; failed=1; }
  done
  h2_nginx=() h2_yarp=()
  for ((round = 1; round <= ROUNDS; round++)); do
    h2_nginx+=("$(quotient "${h2_rps[gateway-h2#$round]}" "${h2_rps[nginx-h2#$round]}")")
    h2_yarp+=("$(quotient "${h2_rps[gateway-h2#$round]}" "${h2_rps[yarp-h2#$round]}")")
  done
  echo "median of $ROUNDS HTTP/2 rounds: gateway/nginx throughput $(median "${h2_nginx[@]}"), gateway/yarp $(median "${h2_yarp[@]}")"
fi
for name in "${rows[@]}"; do
  [[ ${errors[$name]} == 0 ]] || { echo "policy-bench: $name had errors; its numbers are not comparable (see wrk output)" >&2; failed=1; }
done
exit $failed
