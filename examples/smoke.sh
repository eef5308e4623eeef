#!/usr/bin/env bash
# Runs the examples against a real server (used by .ci/run): starts the
# server binary on SQLite, seeds a flag and an SDK key, runs the axum example,
# checks the gated route follows a toggle and a kill made by responder.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWITCHYARD_BIN:-target/debug/switchyard}
gate=${GATE_BIN:-target/debug/axum-gate}
tmp=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
sp=$(port); gp=$(port)
S=http://127.0.0.1:$sp
cleanup() { kill "${server_pid:-}" "${gate_pid:-}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

SWITCHYARD_LISTEN=127.0.0.1:$sp SWITCHYARD_DATA_DIR=$tmp SWITCHYARD_ADMIN_PASSWORD=smoke-test-password \
  SWITCHYARD_METRICS_TOKEN=smoke-metrics-token "$bin" serve >"$tmp/server.log" 2>&1 & server_pid=$!
for _ in $(seq 1 100); do curl -fs "$S/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

j() { curl -fsS "$@" -H 'content-type: application/json'; }
tok=$(j "$S/api/v1/auth/login" -d '{"username":"admin","password":"smoke-test-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
H="authorization: Bearer $tok"
j "$S/api/v1/projects" -H "$H" -d '{"key":"shop"}' >/dev/null
j "$S/api/v1/projects/shop/environments" -H "$H" -d '{"key":"production"}' >/dev/null
j "$S/api/v1/projects/shop/flags" -H "$H" -d '{"key":"new-checkout","kind":"boolean"}' >/dev/null
sdk=$(j "$S/api/v1/projects/shop/environments/production/sdk-keys" -H "$H" -d '{"name":"gate"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["secret"])')
resp=$(j "$S/api/v1/tokens" -H "$H" -d '{"name":"pager","role":"responder"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["secret"])')

SWITCHYARD_URL=$S SWITCHYARD_SDK_KEY=$sdk LISTEN=127.0.0.1:$gp "$gate" >"$tmp/gate.log" 2>&1 & gate_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$gp/checkout" >/dev/null 2>&1 && break; sleep 0.1; done

expect() { # expect TEXT: poll the gated route until it answers TEXT
  for _ in $(seq 1 50); do
    out=$(curl -fs "http://127.0.0.1:$gp/checkout?user=alice") || true
    case "$out" in *"$1"*) echo "  $out"; return 0;; esac
    sleep 0.1
  done
  echo "expected '$1', got '$out'" >&2; exit 1
}
expect "old checkout (reason OFF"
j "$S/api/v1/projects/shop/environments/production/flags/new-checkout/toggle" -H "$H" -d '{"on":true}' >/dev/null
expect "new checkout (reason FALLTHROUGH"
SWITCHYARD_URL=$S SWITCHYARD_TOKEN=$resp SWITCHYARD_PROJECT=shop SWITCHYARD_CLI=$bin \
  examples/responder.sh new-checkout "smoke test" INC-1
expect "old checkout (reason KILLED"
# /metrics: closed without the metrics token, scrapeable with it
code=$(curl -s -o /dev/null -w '%{http_code}' "$S/metrics")
[ "$code" = 401 ] || { echo "/metrics without the token answered $code, expected 401" >&2; exit 1; }
metrics=$(curl -fsS "$S/metrics" -H "authorization: Bearer smoke-metrics-token")
case "$metrics" in *switchyard_kills_total*) ;; *) echo "/metrics with the token lacks switchyard_kills_total" >&2; exit 1;; esac
echo "  /metrics needs its token"
echo "examples smoke test: 4 passed, 0 failed"
