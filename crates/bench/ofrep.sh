#!/usr/bin/env bash
# OFREP bulk evaluation throughput: 100 flags (string, a rule on `country`
# and a 3-way percentage rollout each), one context, measured by wrk
# (Debian's `wrk` package, a Lua script for the POST body), 3 runs of 10 s
# each: full 200 bodies, then 304s with If-None-Match. wrk runs in its own
# process on the same 2 cores as the server.
#
#   cargo build --release -p switchyard-server && crates/bench/ofrep.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SWITCHYARD_BIN:-target/release/switchyard}
runs=${RUNS:-3}
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
S=http://127.0.0.1:$port
SWITCHYARD_LISTEN=127.0.0.1:$port SWITCHYARD_DATA_DIR=$tmp SWITCHYARD_ADMIN_PASSWORD=bench-admin-password \
  SWITCHYARD_OFREP_RATE=0 SWITCHYARD_LOG=warn "$bin" serve >/dev/null 2>&1 & pid=$!
trap 'kill $pid; rm -rf $tmp' EXIT
for _ in $(seq 1 100); do curl -fs "$S/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
j() { curl -fsS "$@" -H 'content-type: application/json'; }
tok=$(j "$S/api/v1/auth/login" -d '{"username":"admin","password":"bench-admin-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
H="authorization: Bearer $tok"
j "$S/api/v1/projects" -H "$H" -d '{"key":"bench"}' >/dev/null
j "$S/api/v1/projects/bench/environments" -H "$H" -d '{"key":"prod"}' >/dev/null
python3 - "$S" "$tok" <<'PY'
import json, sys, urllib.request
base, tok = sys.argv[1], sys.argv[2]
def call(method, path, body):
    req = urllib.request.Request(f"{base}/api/v1/projects/bench{path}", data=json.dumps(body).encode(), method=method,
        headers={"content-type": "application/json", "authorization": f"Bearer {tok}"})
    urllib.request.urlopen(req).read()
for i in range(100):
    call("POST", "/flags", {"key": f"flag-{i:03}", "kind": "string",
        "variants": [{"key": "a", "value": "alpha"}, {"key": "b", "value": "beta"}, {"key": "c", "value": "gamma"}]})
    rollout = {"rollout": {"variations": [{"variant": v, "weight": w} for v, w in (("a", 33334), ("b", 33333), ("c", 33333))]}}
    call("PUT", f"/environments/prod/flags/flag-{i:03}", {"version": 1, "reason": "bench", "on": True, "off_variant": "a",
        "rules": [{"id": "se", "clauses": [{"attribute": "country", "op": "in", "values": ["SE", "NO"]}], "serve": {"variant": "b"}}],
        "fallthrough": rollout})
PY
key=$(j "$S/api/v1/projects/bench/environments/prod/sdk-keys" -H "$H" -d '{"name":"wrk"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["secret"])')
body='{"context":{"targetingKey":"user-123","country":"DE","plan":"pro"}}'
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $key"
LUA
size=$(curl -fs "$S/ofrep/v1/evaluate/flags" -H "authorization: Bearer $key" -d "$body" | wc -c)
etag=$(curl -fsD - -o /dev/null "$S/ofrep/v1/evaluate/flags" -H "authorization: Bearer $key" -d "$body" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
echo "bulk: 100 flags, $size bytes, ETag $etag, $(nproc) cores"
for run in $(seq 1 "$runs"); do
  echo "--- 200 (100 flags evaluated), run $run"
  wrk -t2 -c32 -d10s -s "$tmp/post.lua" "$S/ofrep/v1/evaluate/flags" | grep -E "Requests/sec|Latency|Non-2xx"
done
for run in $(seq 1 "$runs"); do
  echo "--- 304 (If-None-Match), run $run"
  wrk -t2 -c32 -d10s -s "$tmp/post.lua" -H "if-none-match: $etag" "$S/ofrep/v1/evaluate/flags" | grep -E "Requests/sec|Latency|Non-2xx"
done
