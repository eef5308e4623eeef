#!/usr/bin/env bash
# Instructions per evaluation, per engine and shape, counted by valgrind
# (cachegrind, no cache simulation): a figure that does not move with the
# load of a shared machine, unlike time. Runs the `compare` bench binary in
# its loop mode (SWITCHYARD_EVAL_LOOP) with n=0 and n=N evaluations; the
# difference divided by N is the cost of one lookup + evaluation.
#
#   crates/bench/instructions.sh [N] [engines...]     (default N=200000, all engines)
#
# Needs valgrind. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-200000}
shift || true
engines=${*:-switchyard yggdrasil launchdarkly}
bin=$(cargo bench -p switchyard-bench --bench compare --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*compare-[^"]*\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || { echo "compare bench binary not found" >&2; exit 1; }
irefs() {
  SWITCHYARD_EVAL_LOOP="$1 $2 $3" valgrind --tool=cachegrind --cache-sim=no \
    --cachegrind-out-file=/dev/null "$bin" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}
printf '%-13s %-6s %12s\n' engine shape instr/eval
for e in $engines; do
  for s in A B1 B2 C; do
    base=$(irefs "$e" "$s" 0)
    total=$(irefs "$e" "$s" "$n")
    printf '%-13s %-6s %12.1f\n' "$e" "$s" "$(echo "($total - $base) / $n" | bc -l)"
  done
done
