package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Table writes the measurements as two Markdown tables, one row per shape and task, one column per
// runtime: the throughput, then the processor time of a step (CPU-s, all threads), each followed by
// the ratios XLA-CPU vs SimpleGo and XLA-CPU vs PyTorch where both were measured (for processor
// time, the other runtime's over XLA-CPU's, so that above 1 favours XLA-CPU in both tables).
func Table(w io.Writer, ms []Measurement) error {
	if err := table(w, ms, false); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\nProcessor time of a step (CPU-s, user + system, all threads):\n\n"); err != nil {
		return err
	}
	return table(w, ms, true)
}

// table writes the throughput table, or with cpu the processor-time table.
func table(w io.Writer, ms []Measurement, cpu bool) error {
	type key struct{ shape, task string }
	var keys []key
	runtimes := []string{}
	byKey := map[key]map[string]Measurement{}
	for _, m := range ms {
		k := key{m.Shape, m.Task}
		if byKey[k] == nil {
			byKey[k] = map[string]Measurement{}
			keys = append(keys, k)
		}
		byKey[k][m.Runtime] = m
		if !slices.Contains(runtimes, m.Runtime) {
			runtimes = append(runtimes, m.Runtime)
		}
	}
	order := map[string]int{"SimpleGo": 0, "XLA-CPU": 1, "PyTorch": 2}
	slices.SortStableFunc(runtimes, func(a, b string) int { return rank(order, a) - rank(order, b) })
	taskOrder := map[string]int{"train": 0, "infer": 1, "infer-forward": 2}
	slices.SortStableFunc(keys, func(a, b key) int { return rank(taskOrder, a.task) - rank(taskOrder, b.task) })

	var sb strings.Builder
	sb.WriteString("| shape | task | unit |")
	for _, r := range runtimes {
		sb.WriteString(" " + r + " |")
	}
	if cpu {
		sb.WriteString(" SimpleGo / XLA-CPU | PyTorch / XLA-CPU |\n|---|---|---|")
	} else {
		sb.WriteString(" XLA-CPU / SimpleGo | XLA-CPU / PyTorch |\n|---|---|---|")
	}
	sb.WriteString(strings.Repeat("---:|", len(runtimes)+2) + "\n")
	for _, k := range keys {
		row := byKey[k]
		unit := ""
		for _, m := range row {
			unit = m.Unit
		}
		if cpu {
			unit = "CPU-s"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |", k.shape, k.task, unit)
		for _, r := range runtimes {
			if m, ok := row[r]; ok && cpu {
				fmt.Fprintf(&sb, " %.3g |", m.CPUSeconds)
			} else if ok {
				fmt.Fprintf(&sb, " %s |", formatRate(m.PerSecond))
			} else {
				sb.WriteString(" – |")
			}
		}
		for _, other := range []string{"SimpleGo", "PyTorch"} {
			x, okX := row["XLA-CPU"]
			o, okO := row[other]
			if k.task == "infer-forward" && other == "PyTorch" {
				// XLA-CPU's "infer" includes tokenisation; compare like with like.
				okX = false
			}
			if okX && okO && cpu && x.CPUSeconds > 0 {
				fmt.Fprintf(&sb, " %.2f× |", o.CPUSeconds/x.CPUSeconds)
			} else if okX && okO && !cpu {
				fmt.Fprintf(&sb, " %.2f× |", x.PerSecond/o.PerSecond)
			} else {
				sb.WriteString(" – |")
			}
		}
		sb.WriteString("\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func rank(order map[string]int, s string) int {
	if r, ok := order[s]; ok {
		return r
	}
	return len(order)
}

// formatRate prints a throughput with 3 significant digits.
func formatRate(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
