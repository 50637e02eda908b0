package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is a progress bar on a terminal and plain lines otherwise, at
// most one every two seconds (scan and run report through it).
type progress struct {
	bar   *progressbar.ProgressBar
	out   io.Writer
	label string
	last  time.Time
	now   func() time.Time
}

// newProgress writes to streams.ErrOut; total -1 means unknown.
func newProgress(streams IO, now func() time.Time, total int64, label string) *progress {
	p := &progress{out: streams.ErrOut, label: label, now: now}
	if streams.TTY {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(streams.ErrOut),
			progressbar.OptionSetDescription(label), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

// Set reports the current count with a short detail.
func (p *progress) Set(n int64, detail string) {
	if p.bar != nil {
		p.bar.Describe(p.label + " " + detail)
		_ = p.bar.Set64(n)
		return
	}
	if now := p.now(); now.Sub(p.last) >= 2*time.Second {
		p.last = now
		fmt.Fprintf(p.out, "%s: %d (%s)\n", p.label, n, detail)
	}
}

// Done ends the bar.
func (p *progress) Done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
