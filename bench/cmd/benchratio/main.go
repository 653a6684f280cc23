// Command benchratio reads `go test -bench` output of the bench module and
// prints, as Markdown, the median of every metric per benchmark and
// alternative (sub-benchmark impl=NAME), the ratio jobtree ÷ alternative of
// each median, and the check of jobtree's performance targets.
//
// Usage:
//
//	go run ./cmd/benchratio results/latest.txt
//
// Every ratio divides two medians from the same input, as
// docs/benchmarks.md prescribes: absolute numbers of different runs are not
// comparable on a noisy machine.
package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

const subject = "jobtree" // the impl whose ratios are printed

// group is one benchmark without its impl= part, e.g.
// "HandlerRegisterDispose/mode=serial".
type group struct {
	name    string
	impls   []string                        // in order of appearance
	units   []string                        // in order of appearance
	samples map[string]map[string][]float64 // impl → unit → values
}

func (g *group) median(impl, unit string) (float64, bool) {
	v := g.samples[impl][unit]
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// ratio returns median(of) ÷ median(peer) for unit.
func (g *group) ratio(of, peer, unit string) (float64, bool) {
	a, ok1 := g.median(of, unit)
	b, ok2 := g.median(peer, unit)
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	return a / b, true
}

// roundRange returns the least and greatest ratio of ÷ peer of the
// i-th samples. run.sh interleaves by default, so the i-th samples come from
// the same round (the same process, minutes apart at most from each other):
// the range shows how far noise moves the ratio.
func (g *group) roundRange(of, peer, unit string) (lo, hi float64, ok bool) {
	a, b := g.samples[of][unit], g.samples[peer][unit]
	if len(a) == 0 || len(a) != len(b) {
		return 0, 0, false
	}
	for i := range a {
		if b[i] == 0 {
			return 0, 0, false
		}
		r := a[i] / b[i]
		if i == 0 || r < lo {
			lo = r
		}
		if i == 0 || r > hi {
			hi = r
		}
	}
	return lo, hi, true
}

type results struct {
	header []string // goos, goarch, pkg, cpu lines
	notes  []string // the "# " lines run.sh writes (date, versions, load)
	procs  []string // GOMAXPROCS suffixes seen
	groups []*group
	byName map[string]*group
	counts map[string]int // full name → samples
}

func parse(r io.Reader) (*results, error) {
	res := &results{byName: map[string]*group{}, counts: map[string]int{}}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"goos:", "goarch:", "pkg:", "cpu:"} {
			if strings.HasPrefix(line, k) && !seen[line] {
				seen[line] = true
				res.header = append(res.header, line)
			}
		}
		if n, ok := strings.CutPrefix(line, "# "); ok && !strings.HasPrefix(n, "round ") {
			res.notes = append(res.notes, n)
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		full := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(full, '-'); i > 0 {
			if _, err := strconv.Atoi(full[i+1:]); err == nil {
				if !slices.Contains(res.procs, full[i+1:]) {
					res.procs = append(res.procs, full[i+1:])
				}
				full = full[:i] // the -GOMAXPROCS suffix
			}
		}
		name, impl := splitImpl(full)
		g := res.byName[name]
		if g == nil {
			g = &group{name: name, samples: map[string]map[string][]float64{}}
			res.byName[name] = g
			res.groups = append(res.groups, g)
		}
		if g.samples[impl] == nil {
			g.samples[impl] = map[string][]float64{}
			g.impls = append(g.impls, impl)
		}
		res.counts[full]++
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if !slices.Contains(g.units, unit) {
				g.units = append(g.units, unit)
			}
			g.samples[impl][unit] = append(g.samples[impl][unit], v)
		}
	}
	for _, g := range res.groups {
		if g.name == "CancelTree" || strings.HasPrefix(g.name, "CancelTree/") {
			derivePerNode(g)
		}
	}
	// The order of the documentation, whatever order go test ran them in.
	slices.SortStableFunc(res.groups, func(a, b *group) int {
		return order(a.name) - order(b.name)
	})
	return res, sc.Err()
}

// treeNodes is the node count of the CancelTree tree (fan-out 10, depth 4).
const treeNodes = 11111

// derivePerNode adds B/node and allocs/node to the CancelTree group.
func derivePerNode(g *group) {
	if g == nil {
		return
	}
	for _, u := range []string{"B/op", "allocs/op"} {
		if !slices.Contains(g.units, u) {
			continue
		}
		pu := strings.TrimSuffix(u, "/op") + "/node"
		g.units = append(g.units, pu)
		for _, impl := range g.impls {
			for _, v := range g.samples[impl][u] {
				g.samples[impl][pu] = append(g.samples[impl][pu], v/treeNodes)
			}
		}
	}
}

var groupOrder = []string{"LaunchJoin", "CancelTree", "HandlerRegisterDispose", "JobMemory", "AsyncAwait", "Map", "Select", "WithTimeout"}

func order(name string) int {
	for i, p := range groupOrder {
		if name == p || strings.HasPrefix(name, p+"/") {
			return i
		}
	}
	return len(groupOrder)
}

// splitImpl removes the impl=NAME element from a benchmark name.
func splitImpl(full string) (name, impl string) {
	parts := strings.Split(full, "/")
	rest := parts[:0:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "impl="); ok {
			impl = v
			continue
		}
		rest = append(rest, p)
	}
	return strings.Join(rest, "/"), impl
}

// format prints a median in the unit's natural scale.
func format(v float64, unit string) string {
	switch {
	case unit == "ns/op" || strings.HasSuffix(unit, "-ns/node"):
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2f ms", v/1e6)
		case v >= 1e4:
			return fmt.Sprintf("%.1f µs", v/1e3)
		default:
			return fmt.Sprintf("%.1f ns", v)
		}
	case unit == "B/op" && v >= 1<<20:
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case unit == "B/op" && v >= 10<<10:
		return fmt.Sprintf("%.1f KiB", v/1024)
	case strings.HasSuffix(unit, "/node"):
		return strconv.FormatFloat(v, 'f', 2, 64)
	case unit == "allocs/op" || unit == "B/op":
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

func fmtRatio(r float64) string {
	return fmt.Sprintf("%.2f×", r)
}

func printTables(w io.Writer, res *results) {
	for _, g := range res.groups {
		fmt.Fprintf(w, "#### %s\n\n", g.name)
		fmt.Fprintf(w, "| impl |")
		for _, u := range g.units {
			fmt.Fprintf(w, " %s |", u)
		}
		fmt.Fprintf(w, "\n|---|")
		for range g.units {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, impl := range g.impls {
			name := impl
			if impl == subject {
				name = "**" + impl + "**"
			}
			fmt.Fprintf(w, "| %s |", name)
			for _, u := range g.units {
				m, ok := g.median(impl, u)
				cell := ""
				if ok {
					cell = format(m, u)
					if impl == subject {
						cell = "**" + cell + "**"
					} else if r, ok := g.ratio(subject, impl, u); ok {
						cell += " · " + fmtRatio(r)
					}
				}
				fmt.Fprintf(w, " %s |", cell)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Cells are medians; `· r×` after a peer's median is %s ÷ that peer.\n\n", subject)
}

// A target bounds either a ratio jobtree ÷ peer (peer != "") or jobtree's own
// median (peer == ""). A negative max only reports the number. A row with of
// set reports that alternative's ratio instead of jobtree's: how far a floor
// is from the peer, i.e. what a bound leaves to any implementation.
type target struct {
	what  string
	group string
	unit  string
	peer  string
	max   float64
	of    string // the alternative measured; "" for jobtree
}

var targets = []target{
	{"launch+join ≤ 1.25× the go+WaitGroup floor", "LaunchJoin", "ns/op", "waitgroup", 1.25, ""},
	{"the least job-per-task design (`handle`) ÷ the go+WaitGroup floor", "LaunchJoin", "ns/op", "waitgroup", -1, "handle"},
	{"launch+join ÷ the least job-per-task design (`handle`)", "LaunchJoin", "ns/op", "handle", -1, ""},
	{"cancel of the tree ≤ 0.5× the context.WithCancel tree (GC where it falls)", "CancelTree/gc=running", "cancel-ns/node", "context", 0.5, ""},
	{"cancel of the tree ≤ 0.5× the context.WithCancel tree (no GC during the op)", "CancelTree/gc=settled", "cancel-ns/node", "context", 0.5, ""},
	{"cancel of the tree ÷ its floor (a bare walk closing the leaves' channels; no GC)", "CancelTree/gc=settled", "cancel-ns/node", "floor", -1, ""},
	{"the least lock-free tree (`lockfree`: one CAS a node) ÷ the context.WithCancel tree (no GC)", "CancelTree/gc=settled", "cancel-ns/node", "context", -1, "lockfree"},
	{"cancel of the tree ÷ the least lock-free tree (`lockfree`; no GC)", "CancelTree/gc=settled", "cancel-ns/node", "lockfree", -1, ""},
	{"build + cancel of the tree ÷ the context.WithCancel tree (GC where it falls)", "CancelTree/gc=running", "ns/op", "context", -1, ""},
	{"handler register+dispose ≤ 0.4× context.AfterFunc (serial)", "HandlerRegisterDispose/mode=serial", "ns/op", "context", 0.4, ""},
	{"handler register+dispose ≤ 1 alloc (serial)", "HandlerRegisterDispose/mode=serial", "allocs/op", "", 1, ""},
	{"handler register+dispose ≤ 0.4× context.AfterFunc (parallel)", "HandlerRegisterDispose/mode=parallel", "ns/op", "context", 0.4, ""},
	{"handler register+dispose ≤ 1 alloc (parallel)", "HandlerRegisterDispose/mode=parallel", "allocs/op", "", 1, ""},
	{"bytes per Launch (empty body, joined)", "JobMemory/kind=launch", "B/op", "", -1, ""},
	{"allocs per Launch (empty body, joined)", "JobMemory/kind=launch", "allocs/op", "", -1, ""},
	{"bytes per body-less child (created, completed)", "JobMemory/kind=child", "B/op", "", -1, ""},
	{"allocs per body-less child (created, completed)", "JobMemory/kind=child", "allocs/op", "", -1, ""},
	{"retained heap per idle body-less child", "JobMemory/kind=retained", "retained-B/child", "", -1, ""},
	{"the same ÷ an idle context.WithCancel child", "JobMemory/kind=retained", "retained-B/child", "context", -1, ""},
	{"retained heap per idle child after Done()", "JobMemory/kind=retained+done", "retained-B/child", "", -1, ""},
	{"the same ÷ a context.WithCancel child after Done()", "JobMemory/kind=retained+done", "retained-B/child", "context", -1, ""},
	{"Async+Await ≤ 1.25× the go+chan floor", "AsyncAwait", "ns/op", "chan", 1.25, ""},
	{"Async+Await faster than mo.NewFuture+Collect", "AsyncAwait", "ns/op", "mo", 1, ""},
	{"Map no slower than conc/iter.Map (same limit)", "Map", "ns/op", "conc", 1, ""},
	{"Select, 2 job clauses ÷ native select", "Select/clauses=2", "ns/op", "native", -1, ""},
	{"Select, 8 job clauses ÷ native select", "Select/clauses=8", "ns/op", "native", -1, ""},
	{"Select, 64 job clauses ÷ reflect.Select", "Select/clauses=64", "ns/op", "reflect", -1, ""},
	{"WithTimeout ÷ context.WithTimeout + call", "WithTimeout", "ns/op", "context", -1, ""},
}

// printTargets prints the target table and returns the number missed.
func printTargets(w io.Writer, res *results) (missed int) {
	fmt.Fprintf(w, "| target | metric | measured | per-round range | met |\n|---|---|---:|---:|:-:|\n")
	for _, t := range targets {
		g := res.byName[t.group]
		measured, ok := 0.0, false
		of := t.of
		if of == "" {
			of = subject
		}
		metric := t.unit + " of " + of
		if g != nil {
			if t.peer != "" {
				measured, ok = g.ratio(of, t.peer, t.unit)
				metric = fmt.Sprintf("%s, %s ÷ %s", t.unit, of, t.peer)
			} else {
				measured, ok = g.median(of, t.unit)
			}
		}
		val, met, spread := "pending", "pending", ""
		if ok && t.peer != "" {
			if lo, hi, ok := g.roundRange(of, t.peer, t.unit); ok {
				spread = fmt.Sprintf("%.2f–%.2f", lo, hi)
			}
		}
		if ok {
			if t.peer != "" {
				val = fmtRatio(measured)
			} else {
				val = format(measured, t.unit)
			}
			met = "yes"
			if t.max < 0 {
				met = "—"
			} else if measured > t.max {
				met = "**no**"
				missed++
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", t.what, metric, val, spread, met)
	}
	fmt.Fprintln(w)
	return missed
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchratio:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(2)
	}
	if len(res.groups) == 0 {
		fmt.Fprintln(os.Stderr, "benchratio: no benchmark results in input")
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "### Environment\n\n```\n")
	for _, n := range res.notes {
		fmt.Fprintln(w, n)
	}
	for _, h := range res.header {
		fmt.Fprintln(w, h)
	}
	counts := slices.Compact(slices.Sorted(maps.Values(res.counts)))
	fmt.Fprintf(w, "GOMAXPROCS (benchmark name suffix): %s\n", strings.Join(res.procs, ", "))
	fmt.Fprintf(w, "samples per benchmark: %s\n```\n\n", strings.Trim(fmt.Sprint(counts), "[]"))
	fmt.Fprintf(w, "### Medians and ratios\n\n")
	printTables(w, res)
	fmt.Fprintf(w, "### Targets\n\n")
	printTargets(w, res)
}
