#!/usr/bin/env bash
# The stock OpenFeature OFREP providers against a real Switchyard (used by
# .ci/run after `cargo build --workspace --bins`): installs the pinned npm
# packages (package-lock.json) and PyPI packages (requirements.txt, into
# tests/ofrep/.venv), starts the switchyard binary on port 0 (SQLite; the
# address is read from its start-up line), seeds flags of every kind and SDK
# keys through the admin API, then runs server.mjs (server-side provider),
# web.mjs (client-side provider: bulk, ETag/304, a toggle within the poll
# interval), client.py (Python provider) and the README's two snippets.
# Any mismatch fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/ofrep
bin=${SWITCHYARD_BIN:-}
if [ -z "$bin" ]; then
  bin=target/debug/switchyard
  [ -x target/release/switchyard ] && [ target/release/switchyard -nt "$bin" ] && bin=target/release/switchyard
fi
python=$(command -v python3.11 || command -v python3)

(cd "$here" && { [ -d node_modules/@openfeature/ofrep-provider ] || npm ci --no-audit --no-fund --loglevel=error; })
if [ ! -x "$here/.venv/bin/python" ]; then "$python" -m venv "$here/.venv"; fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

tmp=$(mktemp -d)
cleanup() { kill "${server_pid:-}" 2>/dev/null || true; wait "${server_pid:-}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
SWITCHYARD_LISTEN=127.0.0.1:0 SWITCHYARD_DATA_DIR=$tmp SWITCHYARD_ADMIN_PASSWORD=ofrep-test-password \
  "$bin" serve >"$tmp/server.log" 2>&1 & server_pid=$!
S=""
for _ in $(seq 1 300); do
  S=$(sed -n 's/.*Switchyard is running at \(http:[^ ]*\).*/\1/p' "$tmp/server.log" | head -n1)
  [ -n "$S" ] && curl -fs "$S/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "$S" ] || { cat "$tmp/server.log" >&2; echo "run.sh: the server did not start" >&2; exit 1; }
echo "run.sh: server at $S ($bin)"

field() { "$python" -c "import json,sys;print(json.load(sys.stdin)$1)"; }
j() { curl -fsS "$@" -H 'content-type: application/json'; }
token=$(j "$S/api/v1/auth/login" -d '{"username":"admin","password":"ofrep-test-password"}' | field '["token"]')
H="authorization: Bearer $token"
P=$S/api/v1/projects/shop
E=$P/environments/production
j "$S/api/v1/projects" -H "$H" -d '{"key":"shop"}' >/dev/null
j "$P/environments" -H "$H" -d '{"key":"production"}' >/dev/null
flag() { # flag KEY KIND VARIANTS CONFIG
  j "$P/flags" -H "$H" -d "{\"key\":\"$1\",\"kind\":\"$2\",\"variants\":$3}" >/dev/null
  j -X PUT "$E/flags/$1" -H "$H" -d "{\"version\":1,\"reason\":\"seed\",$4}" >/dev/null
}
bools='[{"key":"on","value":true},{"key":"off","value":false}]'
se='"rules":[{"id":"se","clauses":[{"attribute":"country","op":"in","values":["SE"]}],"serve":{"variant":"on"}}]'
flag checkout boolean "$bools" "\"on\":true,\"off_variant\":\"off\",$se,\"fallthrough\":{\"variant\":\"off\"}"
flag legacy boolean "$bools" "\"on\":true,\"off_variant\":\"off\",$se,\"fallthrough\":{\"variant\":\"on\"}"
j "$E/flags/legacy/kill" -H "$H" -d '{"reason":"ofrep test"}' >/dev/null
flag new-checkout boolean "$bools" "\"on\":true,\"off_variant\":\"off\",\"fallthrough\":{\"variant\":\"on\"}"
flag banner string '[{"key":"hello","value":"hello"},{"key":"bye","value":"bye"}]' \
  '"on":true,"off_variant":"bye","targets":[{"variant":"bye","keys":["vip"]}],"fallthrough":{"variant":"hello"}'
flag limit number '[{"key":"low","value":10},{"key":"high","value":2.5}]' '"on":true,"off_variant":"low","fallthrough":{"variant":"high"}'
flag theme json '[{"key":"dark","value":{"bg":"black"}},{"key":"light","value":{"bg":"white"}}]' \
  '"on":true,"off_variant":"light","fallthrough":{"rollout":{"variations":[{"variant":"dark","weight":50000},{"variant":"light","weight":50000}]}}'
key=$(j "$E/sdk-keys" -H "$H" -d '{"name":"ofrep"}' | field '["secret"]')
revoked_json=$(j "$E/sdk-keys" -H "$H" -d '{"name":"revoked"}')
revoked=$(echo "$revoked_json" | field '["secret"]')
curl -fsS -X DELETE "$E/sdk-keys/$(echo "$revoked_json" | field '["key"]["id"]')" -H "$H" >/dev/null

export SWITCHYARD_URL=$S SWITCHYARD_SDK_KEY=$key REVOKED_SDK_KEY=$revoked ADMIN_TOKEN=$token
# The README's snippets are these files, verbatim.
for snippet in readme_snippet.mjs readme_snippet.py; do
  "$python" - "$here/$snippet" <<'PY'
import sys
snippet = open(sys.argv[1]).read().strip()
if snippet not in open("README.md").read():
    sys.exit(f"README.md does not contain {sys.argv[1]} verbatim")
PY
done
echo "== README snippets"
(cd "$here" && node readme_snippet.mjs) | tee "$tmp/ts.out"
grep -qx 'true hello STATIC' "$tmp/ts.out" || { echo "TypeScript snippet printed something else" >&2; exit 1; }
"$here/.venv/bin/python" "$here/readme_snippet.py" | tee "$tmp/py.out"
grep -qx 'True hello STATIC' "$tmp/py.out" || { echo "Python snippet printed something else" >&2; exit 1; }
echo "== @openfeature/ofrep-provider (server)"
(cd "$here" && node server.mjs)
echo "== openfeature-provider-ofrep (Python)"
"$here/.venv/bin/python" "$here/client.py"
echo "== @openfeature/ofrep-web-provider (client, polling); toggles banner"
(cd "$here" && node web.mjs)
if grep -q '"level":"ERROR"\|ERROR' "$tmp/server.log"; then
  echo "server logged errors:" >&2; grep 'ERROR' "$tmp/server.log" | head -20 >&2; exit 1
fi
echo "run.sh: every stock provider passed"
