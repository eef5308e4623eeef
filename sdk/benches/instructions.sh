#!/usr/bin/env bash
# Instructions per flag check through the SDK, telemetry off vs on, counted
# by valgrind (callgrind's instruction count; no cache simulation): a figure
# that does not move with the load of a shared machine, unlike time. Runs
# the `evaluation` bench binary in its loop mode (SWITCHYARD_SDK_LOOP) with
# n=0 and n=N checks; the difference divided by N is the cost of one check.
#
#   sdk/benches/instructions.sh [N]      (default N=200000)
#
# Needs valgrind. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-200000}
bin=$(cargo bench -p switchyard --bench evaluation --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*evaluation-[^"]*\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || { echo "evaluation bench binary not found" >&2; exit 1; }
irefs() {
  local out
  out=$(mktemp)
  SWITCHYARD_SDK_LOOP="$1 $2 $3" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1 || true
  sed -n 's/^summary: *//p' "$out"
  rm -f "$out"
}
printf '%-10s %-6s %12s\n' mode shape instr/check
for s in A B2 P; do
  for m in off telemetry; do
    base=$(irefs "$m" "$s" 0)
    total=$(irefs "$m" "$s" "$n")
    printf '%-10s %-6s %12.1f\n' "$m" "$s" "$(echo "($total - $base) / $n" | bc -l)"
  done
done
