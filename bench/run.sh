#!/usr/bin/env bash
# Runs the cross-library benchmarks of the bench module and summarises them.
#
#   bash bench/run.sh            # from the repository root (make bench)
#
# Environment:
#   COUNT=6        samples per benchmark
#   BENCH=.        -bench regexp, e.g. 'LaunchJoin' or 'impl=(waitgroup|jobtree)'
#   BENCHTIME=1s   -benchtime
#   TAGS=          build tags; TAGS=nojobtree measures the peers only
#   INTERLEAVE=1   run COUNT rounds of -count=1, so that every round measures
#                  all alternatives side by side and a slow phase of the
#                  machine hits them alike; INTERLEAVE=0 runs one go test
#                  -count=$COUNT instead (each benchmark's samples back to back)
#
# Raw output goes to bench/results/latest.txt, the summary (benchstat tables
# and the medians-and-ratios Markdown of cmd/benchratio) to stdout and to
# bench/results/latest.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

COUNT=${COUNT:-6}
BENCH=${BENCH:-.}
BENCHTIME=${BENCHTIME:-1s}
TAGS=${TAGS:-}
INTERLEAVE=${INTERLEAVE:-1}
# golang.org/x/perf has no release tags; this pseudo-version is pinned so the
# summary is reproducible. go run fetches it through the module proxy.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

mkdir -p results
raw=results/latest.txt
summary=results/latest.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

{
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# $(go version)"
	echo "# jobtree: commit $(git -C .. rev-parse --short HEAD 2>/dev/null || echo none)$(git -C .. diff --quiet HEAD -- . 2>/dev/null || echo ' (work tree differs)'), core/*.go sha256 $(cat ../core/*.go | sha256sum | cut -c1-12)"
	echo "# nproc=$(nproc) GOMAXPROCS=${GOMAXPROCS:-unset (= nproc)}"
	echo "# COUNT=$COUNT BENCH=$BENCH BENCHTIME=$BENCHTIME TAGS=$TAGS INTERLEAVE=$INTERLEAVE"
} >"$tmp/env"
cat "$tmp/env" >&2

go vet -tags "$TAGS" ./...
go test -tags "$TAGS" -c -o "$tmp/bench.test" .

args=(-test.run '^$' -test.bench "$BENCH" -test.benchmem -test.benchtime "$BENCHTIME")
cp "$tmp/env" "$raw"
start=$SECONDS
if [[ $INTERLEAVE == 1 ]]; then
	for ((i = 1; i <= COUNT; i++)); do
		echo "# round $i/$COUNT" | tee -a "$raw" >&2
		"$tmp/bench.test" "${args[@]}" -test.count 1 | tee -a "$raw" >&2
	done
else
	"$tmp/bench.test" "${args[@]}" -test.count "$COUNT" | tee -a "$raw" >&2
fi
echo "# benchmarks took $((SECONDS - start))s" | tee -a "$raw" >&2

# One benchstat table per benchmark, the alternatives side by side; the first
# column (the peer every jobtree target refers to) is the base of the
# comparison.
cols=(
	"LaunchJoin|/impl@(waitgroup jobtree errgroup conc tomb lo context)"
	"CancelTree|/impl@(context jobtree)"
	"HandlerRegisterDispose|/impl@(context jobtree)"
	"JobMemory|/impl@(goroutine context jobtree)"
)
{
	cat "$tmp/env"
	echo
	echo "## benchstat"
	echo
	for c in "${cols[@]}"; do
		name=${c%%|*}
		col=${c#*|}
		grep -q "^Benchmark$name/" "$raw" || continue
		echo '```'
		echo "\$ benchstat -filter .name:$name -col '$col' results/latest.txt"
		go run "$BENCHSTAT" -filter ".name:$name" -col "$col" "$raw" 2>&1 ||
			echo "(benchstat failed; the medians below do not need it)"
		echo '```'
		echo
	done
	echo "## jobtree ÷ peer (ratios of medians)"
	echo
	go run ./cmd/benchratio "$raw"
} | tee "$summary"
