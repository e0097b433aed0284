package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress shows a command's status: one line rewritten in place on a
// terminal, a plain line every env.progressEvery (10 s) otherwise, so that
// logs and pipes stay readable.
type progress struct {
	w     io.Writer
	live  bool
	every time.Duration
	last  time.Time
	shown bool
}

func newProgress(e *env) *progress {
	every := e.progressEvery
	if every == 0 {
		every = 10 * time.Second
	}
	return &progress{w: e.stderr, live: isTerminal(e.stderr), every: every}
}

// show prints the status now (live) or when the interval has passed.
func (p *progress) show(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	switch {
	case p.live:
		fmt.Fprintf(p.w, "\r%s ", line)
		p.shown = true
	case time.Since(p.last) >= p.every:
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

// showPeers prints head and a line per peer: on a terminal all on the one
// live line, otherwise head then each peer's line indented.
func (p *progress) showPeers(head string, peers []string) {
	if p.live {
		for _, l := range peers {
			head += "  |  " + l
		}
		p.show("%s", head)
		return
	}
	if time.Since(p.last) < p.every {
		return
	}
	fmt.Fprintln(p.w, head)
	for _, l := range peers {
		fmt.Fprintln(p.w, "  "+l)
	}
	p.last = time.Now()
}

// done ends a live line.
func (p *progress) done() {
	if p.live && p.shown {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
