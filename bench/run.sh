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
#   PROFILE=0      PROFILE=1 also profiles the jobtree sub-benchmarks after
#                  the run: bench/results/NAME.{cpu,mem}.prof, with the top
#                  functions of each printed (go tool pprof -top)
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
PROFILE=${PROFILE:-0}
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
	echo "# jobtree: commit $(git -C .. rev-parse --short HEAD 2>/dev/null || echo none)$(git -C .. diff --quiet HEAD -- core 2>/dev/null || echo ' (core/ has uncommitted changes)'), core/*.go sha256 $(cat ../core/*.go | sha256sum | cut -c1-12)"
	echo "# nproc=$(nproc) GOMAXPROCS=${GOMAXPROCS:-unset (= nproc)}"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
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
echo "# benchmarks took $((SECONDS - start))s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$raw" >&2

# One benchstat table per benchmark, the alternatives side by side; the first
# column (the peer every jobtree target refers to) is the base of the
# comparison.
cols=(
	"LaunchJoin|/impl@(waitgroup jobtree errgroup handle conc tomb lo context)"
	"CancelTree|/impl@(context jobtree floor lockfree)"
	"HandlerRegisterDispose|/impl@(context jobtree)"
	"JobMemory|/impl@(goroutine context jobtree)"
	"AsyncAwait|/impl@(chan jobtree mo lo)"
	"Map|/impl@(conc jobtree errgroup)"
	"Select|/impl@(native reflect jobtree)"
	"WithTimeout|/impl@(context jobtree)"
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

if [[ $PROFILE == 1 ]]; then
	# name|-bench pattern (one regexp per level of the sub-benchmark name)
	profiles=(
		"launchjoin|^BenchmarkLaunchJoin$/^impl=jobtree$"
		"canceltree|^BenchmarkCancelTree$/^gc=settled$/^impl=jobtree$"
		"handler|^BenchmarkHandlerRegisterDispose$/^mode=serial$/^impl=jobtree$"
		"launch|^BenchmarkJobMemory$/^kind=launch$/^impl=jobtree$"
		"childdone|^BenchmarkJobMemory$/^kind=child\+done$/^impl=jobtree$"
	)
	for p in "${profiles[@]}"; do
		name=${p%%|*}
		pat=${p#*|}
		# Separate runs: the memory profiler's sampling would show in the
		# CPU profile.
		"$tmp/bench.test" -test.run '^$' -test.bench "$pat" -test.benchmem \
			-test.benchtime 2s -test.cpuprofile "results/$name.cpu.prof" >&2
		"$tmp/bench.test" -test.run '^$' -test.bench "$pat" -test.benchmem \
			-test.benchtime 1s -test.memprofile "results/$name.mem.prof" >/dev/null
		echo "== $name: CPU, cumulative, package core"
		go tool pprof -top -cum -focus 'jobtree/core' "$tmp/bench.test" "results/$name.cpu.prof" 2>/dev/null |
			grep -E 'jobtree/core|flat%' | head -15
		echo "== $name: bytes allocated"
		go tool pprof -sample_index=alloc_space -top "$tmp/bench.test" "results/$name.mem.prof" 2>/dev/null |
			grep -E 'jobtree/core|flat%' | head -8
	done
fi
