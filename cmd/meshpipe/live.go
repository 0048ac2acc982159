package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meshpipe/meshpipe/capture"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// openLive opens the live source -i names (capture.Open) at the size and rate given, behind a
// stages.Live that drops the oldest waiting frame rather than hold the camera up. -t ends a
// camera after that much capture time, and the test pattern after the frames k with
// k/rate < -t (its frames are timed by their number, as ffmpeg's lavfi testsrc's are: -t 5 at
// 30 fps is 150 frames).
func openLive(o *options, pl plan) (*input, error) {
	cam, err := capture.Open(o.input, capture.Options{Width: pl.inW, Height: pl.inH, Rate: pl.inRate})
	if err != nil {
		return nil, err
	}
	cfg := stages.LiveConfig{Duration: o.duration}
	if o.input == capture.TestSource && o.duration > 0 {
		cfg = stages.LiveConfig{Frames: cam.Info().Rate.FramesBelow(o.duration)}
	}
	live, err := stages.NewLive(cam, cfg)
	if err != nil {
		cam.Close()
		return nil, err
	}
	return &input{info: cam.Info(), cam: cam, live: live}, nil
}

// liveInFlight is the default -in-flight for a live source: a batch of frames per pose
// worker, one frame per render worker, one being read and one being detected or written.
// Fewer frames wait inside the graph than with a stream's default (the same + 4), so latency
// is lower; the camera never waits either way.
func liveInFlight(c stages.Config) int { return c.PoseWorkers*max(c.Batch, 1) + len(c.Renderers) + 2 }

// printDevices writes the live sources to w: the test pattern, then each camera with the
// modes it offers (format, sizes and, for each size, its rates), or a clear line saying no
// camera was found, or that this build has no camera driver.
func printDevices(w io.Writer, devs []capture.Device) {
	fmt.Fprintf(w, "Live sources for -i (through pion/mediadevices):\n")
	fmt.Fprintf(w, "  %-10s test pattern: any -s WxH with an even width (default %dx%d), any -r (default %d fps)\n",
		capture.TestSource, capture.DefaultWidth, capture.DefaultHeight, capture.DefaultRate)
	if capture.CameraDriver == "" {
		fmt.Fprintf(w, "Cameras: none; this meshpipe was built without a camera driver (it needs Linux and cgo)\n")
		return
	}
	if len(devs) == 0 {
		fmt.Fprintf(w, "Cameras: none found: no video device (/dev/video*) on this machine (driver: %s)\n", capture.CameraDriver)
		return
	}
	fmt.Fprintf(w, "Cameras: %d found (driver: %s); -i webcam opens the first that delivers video\n", len(devs), capture.CameraDriver)
	for _, d := range devs {
		name := d.Name
		if name == "" {
			name = "(no name)"
		}
		path := d.Path
		if d.Link != "" {
			path += " (" + d.Link + ")"
		}
		fmt.Fprintf(w, "  %-10s %s  %s\n", "webcam:"+strings.TrimPrefix(d.Node, "video"), path, name)
		switch {
		case d.Err != nil:
			fmt.Fprintf(w, "      cannot be opened to list its modes: %v\n", d.Err)
		case len(d.Modes) == 0:
			fmt.Fprintf(w, "      no video in a format meshpipe reads (a camera's metadata node?)\n")
		}
		for _, line := range modeLines(d.Modes) {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}

// modeLines groups modes by format, then size: "YUYV  640x480 at 30, 15 fps; 1280x720 at 10 fps".
func modeLines(ms []capture.Mode) []string {
	var formats []string
	sizes := map[string][]string{} // format -> sizes in order
	rates := map[string][]string{} // format+size -> rates
	for _, m := range ms {
		size := fmt.Sprintf("%dx%d", m.Width, m.Height)
		if _, ok := sizes[m.Format]; !ok {
			formats = append(formats, m.Format)
		}
		key := m.Format + " " + size
		if _, ok := rates[key]; !ok {
			sizes[m.Format] = append(sizes[m.Format], size)
			rates[key] = nil
		}
		if m.FPS > 0 {
			rates[key] = append(rates[key], strconv.FormatFloat(m.FPS, 'g', 6, 64))
		}
	}
	var lines []string
	for _, f := range formats {
		var parts []string
		for _, size := range sizes[f] {
			if r := rates[f+" "+size]; len(r) > 0 {
				parts = append(parts, size+" at "+strings.Join(r, ", ")+" fps")
			} else {
				parts = append(parts, size)
			}
		}
		lines = append(lines, fmt.Sprintf("%-5s %s", f, strings.Join(parts, "; ")))
	}
	return lines
}

// setDuration takes -t.
func (o *options) setDuration(v string) error {
	d, err := parseDuration(v)
	if err != nil {
		return err
	}
	if d <= 0 {
		return errors.New("want a duration above 0")
	}
	o.duration = d
	return nil
}

// parseDuration reads a duration as ffmpeg writes one (ffmpeg-utils(1), "Time duration"):
// [-][HH:]MM:SS[.m...] or [-]S+[.m...][s|ms|us].
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("want a duration such as 5, 2.5, 500ms or 1:30 (got %q)", s)
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	num := func(x string, frac bool) (float64, bool) {
		if x == "" || strings.ContainsAny(x, "+-eEinIN_") || (!frac && strings.Contains(x, ".")) {
			return 0, false
		}
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && f >= 0
	}
	var secs float64
	if strings.Contains(t, ":") {
		parts := strings.Split(t, ":")
		if len(parts) > 3 {
			return 0, bad
		}
		for i, p := range parts {
			last := i == len(parts)-1
			f, ok := num(p, last)
			if !ok || (i > 0 && f >= 60) {
				return 0, bad
			}
			secs = secs*60 + f
		}
	} else {
		unit := 1.0
		switch {
		case strings.HasSuffix(t, "ms"):
			t, unit = strings.TrimSuffix(t, "ms"), 1e-3
		case strings.HasSuffix(t, "us"):
			t, unit = strings.TrimSuffix(t, "us"), 1e-6
		case strings.HasSuffix(t, "s"):
			t = strings.TrimSuffix(t, "s")
		}
		f, ok := num(t, true)
		if !ok {
			return 0, bad
		}
		secs = f * unit
	}
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, bad
	}
	d := time.Duration(math.Round(secs * 1e9))
	if neg {
		d = -d
	}
	return d, nil
}

// ffmpegDuration writes d for ffmpeg's -t: seconds with microseconds.
func ffmpegDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
}

// limitDuration ends src after the frames whose time k/rate lies below d (-t), as ffmpeg's -t
// does for a constant-rate stream; rawvideo without a rate is taken at ffmpeg's 25 fps.
func limitDuration(src stages.Source, d time.Duration, rate rawvideo.Ratio) stages.Source {
	if rate.IsZero() {
		rate = rawvideo.Ratio{Num: 25, Den: 1}
	}
	return stages.Limit(src, rate.FramesBelow(d))
}

// liveStatus is what the status line adds for a live source: frames dropped, and the median
// capture-to-output latency so far.
func liveStatus(ls stages.LiveStats) string {
	return fmt.Sprintf(" drop=%d latency=%s", ls.Dropped, ls.LatencyP50.Round(time.Millisecond))
}

// liveSummary is the summary's line for a live source.
func liveSummary(ls stages.LiveStats) string {
	share := 0.0
	if ls.Captured > 0 {
		share = 100 * float64(ls.Dropped) / float64(ls.Captured)
	}
	return fmt.Sprintf("live: %d frames captured, %d dropped (%.1f%%; the oldest waiting, when the graph was behind), %d written;\n"+
		"      capture-to-output latency p50 %s, p95 %s, max %s\n",
		ls.Captured, ls.Dropped, share, ls.Written, ms(ls.LatencyP50), ms(ls.LatencyP95), ms(ls.LatencyMax))
}
