// k6 load test for `auditgw demo`: the routes the demo prints, with the Host header each needs.
//
//   auditgw demo --http 127.0.0.1:8080            # in one terminal (prints the ports)
//   k6 run loadtest/k6/demo.js                    # in another
//   k6 run -e GATEWAY=http://127.0.0.1:18080 -e RATE=2000 -e DURATION=60s loadtest/k6/demo.js
//
// Environment: GATEWAY (default http://127.0.0.1:8080), RATE (requests/s, default 500),
// DURATION (default 30s), VUS (pre-allocated virtual users, default 50).
// It runs an open model (constant-arrival-rate): k6 sends RATE requests a second whatever
// the latency, so a slow gateway shows up as latency and dropped iterations, not as a
// politely lower request rate (the closed-model trap of wrk and of k6's default executor).
// See loadtest/README.md for how to read the output.
import http from 'k6/http';
import { check } from 'k6';

const GATEWAY = __ENV.GATEWAY || 'http://127.0.0.1:8080';
const RATE = parseInt(__ENV.RATE || '500', 10);
const DURATION = __ENV.DURATION || '30s';
const VUS = parseInt(__ENV.VUS || '50', 10);
const SHOP = 'shop.demo.local';

export const options = {
  scenarios: {
    demo: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VUS,
      maxVUs: VUS * 4,
    },
  },
  // The HTTPS demo host uses a self-signed certificate.
  insecureSkipTLSVerify: true,
  thresholds: {
    // Only requests the gateway forwards count towards the latency goal.
    'http_req_duration{kind:routed}': ['p(99)<50'],
    checks: ['rate>0.999'],
    dropped_iterations: ['count<1'],
  },
  summaryTrendStats: ['min', 'med', 'p(90)', 'p(99)', 'max'],
};

// Weighted mix: mostly the web front end and the API, a few 404s (no rule) and 308s (TLS host).
const requests = [
  { weight: 50, path: '/', host: SHOP, status: 200, backend: 'shop-web', kind: 'routed' },
  { weight: 35, path: '/api/orders', host: SHOP, status: 200, backend: 'shop-api', kind: 'routed' },
  { weight: 5, path: '/healthz', host: SHOP, status: 200, backend: 'shop-api', kind: 'routed' },
  { weight: 5, path: '/apiary', host: SHOP, status: 200, backend: 'shop-web', kind: 'routed' },
  { weight: 3, path: '/', host: 'unknown.demo.local', status: 404, backend: null, kind: 'no-route' },
  { weight: 2, path: '/', host: 'secure.demo.local', status: 308, backend: null, kind: 'redirect' },
];
const totalWeight = requests.reduce((sum, r) => sum + r.weight, 0);

function pick() {
  let n = Math.random() * totalWeight;
  for (const r of requests) {
    n -= r.weight;
    if (n < 0) {
      return r;
    }
  }
  return requests[0];
}

export default function () {
  const r = pick();
  const res = http.get(`${GATEWAY}${r.path}`, {
    headers: { Host: r.host },
    redirects: 0,
    tags: { kind: r.kind, route: `${r.host}${r.path}` },
  });
  check(res, {
    [`${r.kind} ${r.path}: status ${r.status}`]: (x) => x.status === r.status,
    [`${r.kind} ${r.path}: backend`]: (x) => r.backend === null || x.headers['X-Backend'] === r.backend,
  });
}
