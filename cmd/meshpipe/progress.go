package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/meshpipe/meshpipe/stages"
	"golang.org/x/term"
)

// progressEvery is how often the status line is redrawn.
const progressEvery = 500 * time.Millisecond

// progress draws the one-line status on stderr while the graph runs, and the stage summary at
// the end: when -stats is given, or when stderr is a terminal, the log level is info or more
// and -nostats is not given. The summary also shows at -loglevel verbose and debug.
type progress struct {
	w       io.Writer
	rec     *stages.Recorder
	rate    float64      // the input's frames per second, 0 when unknown
	live    *stages.Live // a live source's drops and latency, or nil
	line    bool         // draw the status line
	sum     bool         // print the summary
	quit    chan struct{}
	wg      sync.WaitGroup
	lastLen int
}

func startProgress(o *options, log *logger, stderr io.Writer, rec *stages.Recorder, rate float64, live *stages.Live) *progress {
	p := &progress{w: stderr, rec: rec, rate: rate, live: live, quit: make(chan struct{})}
	switch o.stats {
	case statsOn:
		p.line = true
	case statsAuto:
		p.line = isTerminal(stderr) && log.level <= slog.LevelInfo
	}
	p.sum = p.line || log.level <= levelVerbose
	if p.line {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					p.draw(false)
				case <-p.quit:
					return
				}
			}
		}()
	}
	return p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// statusLine formats the running count as ffmpeg's status line does.
func statusLine(p stages.Progress, rate float64) string {
	secs := p.Elapsed.Seconds()
	fps := float64(p.Frames) / max(secs, 1e-9)
	ppf := 0.0
	if p.Frames > 0 {
		ppf = float64(p.People) / float64(p.Frames)
	}
	speed := "N/A"
	if rate > 0 {
		speed = fmt.Sprintf("%.3gx", fps/rate)
	}
	return fmt.Sprintf("frame=%6d fps=%5.1f people/frame=%4.2f speed=%s elapsed=%s",
		p.Frames, fps, ppf, speed, p.Elapsed.Truncate(100*time.Millisecond))
}

// draw rewrites the status line in place; the final one ends with a newline.
func (p *progress) draw(final bool) {
	s := statusLine(p.rec.Progress(), p.rate)
	if p.live != nil {
		s += liveStatus(p.live.Stats())
	}
	pad := max(p.lastLen-len(s), 0)
	p.lastLen = len(s)
	end := "\r"
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "%s%s%s", s, strings.Repeat(" ", pad), end)
}

// stop ends the status line with the final count.
func (p *progress) stop() {
	if !p.line {
		return
	}
	close(p.quit)
	p.wg.Wait()
	p.draw(true)
}

// summary prints the per-stage table.
func (p *progress) summary() {
	if !p.sum {
		return
	}
	fmt.Fprint(p.w, summaryTable(p.rec.Summary()))
	if p.live != nil {
		fmt.Fprint(p.w, liveSummary(p.live.Stats()))
	}
}

func summaryTable(rows []stages.StageSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %7s %7s %6s %10s %10s\n", "stage", "workers", "frames", "busy", "p50", "p95")
	for _, r := range rows {
		workers, busy := fmt.Sprint(r.Workers), fmt.Sprintf("%5.1f%%", 100*r.Busy)
		if r.Stage == "total" {
			workers, busy = "", ""
		}
		fmt.Fprintf(&b, "%-7s %7s %7d %6s %10s %10s\n", r.Stage, workers, r.Frames, busy, ms(r.P50), ms(r.P95))
	}
	b.WriteString("(busy: share of the run its workers were working, for read and write waiting on the pipes included;\n" +
		" p50/p95: time per frame in the stage; total: from the start of a frame's read to the end of its write)\n")
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
