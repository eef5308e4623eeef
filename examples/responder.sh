#!/usr/bin/env bash
# A responder's 3 a.m. script: kill a flag in production, wait until every
# connected SDK has applied it, and fail loudly if not all did.
#
#   SWITCHYARD_URL=https://flags.example.com SWITCHYARD_TOKEN=sya_… SWITCHYARD_PROJECT=shop \
#     examples/responder.sh new-checkout "checkout 5xx above 5%" INC-42
set -euo pipefail
flag=${1:?usage: responder.sh FLAG REASON [INCIDENT]}
reason=${2:?a reason is required}
incident=${3:-}
bin=${SWITCHYARD_CLI:-switchyard}

args=(kill "$flag" --env "${SWITCHYARD_ENV:-production}" --reason "$reason" --wait 5s)
[ -n "$incident" ] && args+=(--incident "$incident")

if "$bin" "${args[@]}"; then
  echo "OK: every connected SDK serves the off variant of $flag"
else
  code=$?
  if [ "$code" -eq 3 ]; then
    echo "WARNING: $flag is killed, but not every SDK confirmed it within 5 s" >&2
  fi
  exit "$code"
fi
