#!/usr/bin/env bash
# Every row of the performance table (issue 15) in one batch: evaluation
# next to unleash-yggdrasil and LaunchDarkly (criterion, same run), fan-out
# to 1,000 and 10,000 SDK clients in other processes next to a plain axum
# SSE floor (same run), `switchyard kill --wait` from the CLI, RSS per idle
# stream, the Postgres write path next to a bare UPDATE + INSERT + COMMIT,
# and SDK telemetry ingestion. RUNS rounds (default 3), each round running
# every row once, so the spread covers the machine's drift over the batch.
#
#   crates/bench/all.sh                # RUNS=3 OUT=target/bench-all/<utc time>
#
# Needs Postgres (SWITCHYARD_BENCH_PG_URL or the default the harnesses use)
# and `ulimit -n` >= 20000 for the 10,000-client row. Prints where the
# outputs are; docs/benchmarks.md says how to read them.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
out=${OUT:-target/bench-all/$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$out"
cargo build --release -p switchyard-server -p switchyard-bench
cargo bench -p switchyard-bench --bench compare --no-run
if [ "$(ulimit -n)" -lt 20000 ]; then ulimit -n 20000 || echo "ulimit -n is $(ulimit -n): the 10,000-client row may fail" >&2; fi
row() { # name, command...
  local name=$1; shift
  printf '%s %s load %s\n' "$(date -u +%T)" "$name" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log.txt"
  "$@" >"$out/$name.txt" 2>&1 || echo "  $name failed (exit $?), see $out/$name.txt" | tee -a "$out/log.txt"
}
for i in $(seq "$runs"); do
  row "compare-$i" cargo bench -p switchyard-bench --bench compare -- --warm-up-time 1 --measurement-time 2
  row "fanout-1k-$i" target/release/fanout --clients 1000 --workers 4 --targets sqlite,floor,postgres --toggles 20 --kills 10
  row "fanout-10k-$i" target/release/fanout --clients 10000 --workers 8 --targets sqlite,floor,postgres --toggles 10 --interval-ms 1000
  row "write-path-$i" target/release/write_path --store postgres --toggles 2000
  row "telemetry-ingest-$i" target/release/telemetry_ingest --store postgres --batches 3000 --senders 8
done
echo "outputs in $out"
