// Package progress shows progress bars for Mimicry's long jobs (training, annotation, indexing) on
// standard error: count, rate, ETA and a short live status such as the current loss.
//
// Bars are drawn only when standard error is a terminal, unless MIMICRY_PROGRESS=1 forces them
// (MIMICRY_PROGRESS=0 hides them); elsewhere (CI logs, notebooks) a plain line is printed every
// few seconds instead, so logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar is a progress display for a job of a known number of items.
type Bar struct {
	mu        sync.Mutex
	bar       *progressbar.ProgressBar
	w         io.Writer
	desc      string
	unit      string
	total     int
	done      int
	base      int // count at the last SetDone: rates count only the items done since
	status    string
	start     time.Time
	lastPrint time.Time
	every     time.Duration
}

// New starts a progress display of total items named unit ("steps", "pairs") described by desc.
func New(total int, desc, unit string) *Bar {
	b := &Bar{w: os.Stderr, desc: desc, unit: unit, total: total, start: time.Now(), every: 5 * time.Second}
	if enabled() {
		b.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	}
	return b
}

// Quiet returns a Bar that shows nothing (for tests and library use without output).
func Quiet(total int) *Bar {
	return &Bar{w: io.Discard, total: total, start: time.Now(), every: time.Hour}
}

func enabled() bool {
	switch os.Getenv("MIMICRY_PROGRESS") {
	case "1":
		return true
	case "0":
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add advances the bar by n items, with a status shown beside it (e.g. "loss 0.41").
func (b *Bar) Add(n int, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.status = status
	if b.bar != nil {
		if status != "" {
			b.bar.Describe(b.desc + " " + status)
		}
		_ = b.bar.Add(n)
		return
	}
	if now := time.Now(); now.Sub(b.lastPrint) >= b.every || b.done >= b.total {
		b.lastPrint = now
		fmt.Fprintln(b.w, b.line())
	}
}

// SetDone moves the bar to an absolute count (e.g. when a job resumes at step 300).
func (b *Bar) SetDone(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	b.base = done
	b.start = time.Now()
	if b.bar != nil {
		_ = b.bar.Set(done)
		b.bar.Reset()
		_ = b.bar.Set(done)
	}
}

// line is the plain-text form of the progress.
func (b *Bar) line() string {
	elapsed := time.Since(b.start).Seconds()
	rate := float64(b.done-b.base) / max(elapsed, 1e-9)
	eta := "?"
	if rate > 0 && b.total > 0 {
		eta = (time.Duration(float64(b.total-b.done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %d/%d %s (%.1f %s/s, ETA %s) %s", b.desc, b.done, b.total, b.unit, rate, b.unit, eta, b.status)
}

// Finish ends the display and prints a summary line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(b.w)
	}
	elapsed := time.Since(b.start)
	fmt.Fprintf(b.w, "%s: %d %s in %s (%.1f %s/s) %s\n", b.desc, b.done-b.base, b.unit, elapsed.Round(time.Millisecond),
		float64(b.done-b.base)/max(elapsed.Seconds(), 1e-9), b.unit, b.status)
}
