#!/usr/bin/env bash
# Snapshot endpoint throughput with 1,000 flags, measured by wrk (Debian's
# `wrk` package): full 200 responses, and 304s with If-None-Match.
#
#   cargo build --release -p switchyard-server && crates/bench/snapshot.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SWITCHYARD_BIN:-target/release/switchyard}
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
S=http://127.0.0.1:$port
SWITCHYARD_LISTEN=127.0.0.1:$port SWITCHYARD_DATA_DIR=$tmp SWITCHYARD_ADMIN_PASSWORD=bench-admin-password \
  SWITCHYARD_LOG=warn "$bin" serve >/dev/null 2>&1 & pid=$!
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
for i in range(1000):
    body = {"key": f"flag-{i}", "kind": "string", "tags": ["bench"],
            "variants": [{"key": "a", "value": "alpha"}, {"key": "b", "value": "beta"}, {"key": "c", "value": "gamma"}]}
    req = urllib.request.Request(f"{base}/api/v1/projects/bench/flags", data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {tok}"})
    urllib.request.urlopen(req).read()
PY
key=$(j "$S/api/v1/projects/bench/environments/prod/sdk-keys" -H "$H" -d '{"name":"wrk"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["secret"])')
size=$(curl -fs "$S/sdk/v1/snapshot" -H "authorization: Bearer $key" | wc -c)
etag=$(curl -fsI "$S/sdk/v1/snapshot" -H "authorization: Bearer $key" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
echo "snapshot: 1000 flags, $size bytes, ETag $etag"
echo "--- 200 (full snapshot)"
wrk -t2 -c32 -d10s -H "authorization: Bearer $key" "$S/sdk/v1/snapshot"
echo "--- 304 (If-None-Match)"
wrk -t2 -c32 -d10s -H "authorization: Bearer $key" -H "if-none-match: $etag" "$S/sdk/v1/snapshot"
