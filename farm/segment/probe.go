package segment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/meshpipe/meshpipe/internal/tail"
)

// Probe is what the farm knows of an input file before it runs: its first video stream's
// size, pixel format and rate, its frame count as the container gives it, and whether a
// segment may start with a seek. It travels between workers as JSON.
type Probe struct {
	// Width and Height are the size of the frames ffmpeg decodes, in pixels (turned upright when
	// the stream carries a rotation of a quarter turn).
	Width, Height int
	// PixFmt is ffprobe's pix_fmt of the first video stream (yuv420p, yuvj420p, gray, ...).
	PixFmt string
	// Rate is the stream's frame rate as ffprobe writes it ("10/1", "30000/1001"): its
	// r_frame_rate, else its avg_frame_rate; "" when unknown.
	Rate string
	// Frames is the number of video packets that are not marked for discarding: the frame
	// count of the plan. The last segment runs to the end of the stream, so a count that is too
	// low loses no frame; one that is too high gives empty segments at the end.
	Frames int
	// Seekable says that the packets' presentation times, sorted, are exactly
	// FirstPTS + k*FrameTicks, with FrameTicks one frame at Rate (a constant frame rate without
	// gaps): frame k then starts at SeekTime(k), and a segment may seek there instead of
	// decoding every frame before it.
	Seekable bool
	// FirstPTS and FrameTicks are the first presentation time and the time between frames, in
	// TimeBase units; meaningful when Seekable.
	FirstPTS, FrameTicks int64
	// TimeBase is the video stream's time base ("1/10240").
	TimeBase string
	// StartTime is the container's start time in seconds (ffprobe's format start_time), which
	// ffmpeg's -ss counts from.
	StartTime float64
	// Audio says whether the file has an audio stream (the join copies it).
	Audio bool
}

// Pipe is how frames of this file travel between ffmpeg and meshpipe, in the pixel format
// meshpipe's own file mode hands them over in: 8-bit 4:2:0 at an even size as YUV4MPEG2 in the
// file's own format (so that blocks meshpipe does not draw on come out exactly as decoded), and
// anything else (odd sizes, gray, 4:2:2, 4:4:4, 10-bit, RGB) converted by ffmpeg to 8-bit RGB,
// as rgb24 rawvideo.
func (p Probe) Pipe() Pipe {
	if (p.PixFmt == "yuv420p" || p.PixFmt == "yuvj420p") && p.Width%2 == 0 && p.Height%2 == 0 {
		return Pipe{Y4M: true, PixFmt: p.PixFmt, Width: p.Width, Height: p.Height, Rate: p.Rate}
	}
	return Pipe{PixFmt: "rgb24", Width: p.Width, Height: p.Height, Rate: p.Rate}
}

// SeekTime is the -ss value that makes ffmpeg's first decoded frame frame k: frame k's
// presentation time, counted from the container's start as ffmpeg's -ss is, rounded down to
// the microsecond (ffmpeg's own unit for -ss), as "S.UUUUUU". Frame k then comes out at time
// 0 (less than a microsecond late), so a constant-rate output puts nothing before it, and
// frame k-1, a whole frame earlier, is dropped. Only meaningful when Seekable.
func (p Probe) SeekTime(k int) (string, error) {
	tb, ok := new(big.Rat).SetString(p.TimeBase)
	if !ok || tb.Sign() <= 0 {
		return "", fmt.Errorf("time base %q", p.TimeBase)
	}
	start, ok := new(big.Rat).SetString(strconv.FormatFloat(p.StartTime, 'f', -1, 64))
	if !ok {
		return "", fmt.Errorf("start time %v", p.StartTime)
	}
	t := new(big.Rat).SetInt64(p.FirstPTS + int64(k)*p.FrameTicks)
	t.Mul(t, tb).Sub(t, start).Mul(t, big.NewRat(1000000, 1))
	us := new(big.Int).Quo(t.Num(), t.Denom()) // truncates toward zero
	if t.Sign() < 0 {
		us.SetInt64(0)
	}
	n := us.Int64()
	return fmt.Sprintf("%d.%06d", n/1000000, n%1000000), nil
}

// InputError is a file that cannot be processed, whoever tries: missing, unreadable, no video
// stream, undecodable. Retrying does not help.
type InputError struct {
	File   string
	Reason string
}

func (e *InputError) Error() string { return e.File + ": " + e.Reason }

type ffprobeJSON struct {
	Streams []struct {
		Index        int    `json:"index"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		RFrameRate   string `json:"r_frame_rate"`
		AvgFrameRate string `json:"avg_frame_rate"`
		TimeBase     string `json:"time_base"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		SideData []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Packets []struct {
		StreamIndex int    `json:"stream_index"`
		PTS         *int64 `json:"pts"`
		Flags       string `json:"flags"`
	} `json:"packets"`
	Format struct {
		StartTime string `json:"start_time"`
	} `json:"format"`
}

// ProbeFile describes file with one ffprobe run (from PATH): the streams and every packet's
// presentation time (the container's index; nothing is decoded), then decodes the first frame
// with ffmpeg, so that a file whose codec ffmpeg lacks fails here. A file that is missing, has
// no video stream, no frames, or that ffprobe or ffmpeg cannot read gives an *InputError
// carrying what they said; a failure to run them at all gives another error.
func ProbeFile(ctx context.Context, file string) (Probe, error) {
	var p Probe
	if _, err := os.Stat(file); err != nil {
		return p, &InputError{File: file, Reason: err.Error()}
	}
	out, err := runTool(ctx, "ffprobe", file, "-v", "error", "-show_entries",
		"format=start_time:stream=index,codec_type,codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,time_base"+
			":stream_disposition=attached_pic:stream_side_data=rotation:packet=stream_index,pts,flags",
		"-of", "json", file)
	if err != nil {
		return p, err
	}
	var pj ffprobeJSON
	if err := json.Unmarshal(out, &pj); err != nil {
		return p, fmt.Errorf("ffprobe %s: reading its JSON: %w", file, err)
	}
	video := -1
	for i, s := range pj.Streams {
		switch s.CodecType {
		case "video":
			if video < 0 && s.Disposition.AttachedPic == 0 { // cover art is no video
				video = i
			}
		case "audio":
			p.Audio = true
		}
	}
	if video < 0 {
		return p, &InputError{File: file, Reason: "no video stream (ffprobe found none)"}
	}
	s := pj.Streams[video]
	if s.Width <= 0 || s.Height <= 0 || s.PixFmt == "" {
		return p, &InputError{File: file, Reason: fmt.Sprintf("video stream %d (%s) has no frame size or pix_fmt: ffmpeg cannot decode it", s.Index, s.CodecName)}
	}
	p.Width, p.Height, p.PixFmt, p.TimeBase = s.Width, s.Height, s.PixFmt, s.TimeBase
	for _, sd := range s.SideData {
		// ffmpeg turns the frames of a rotated stream (a phone's) upright as it decodes them.
		if sd.Rotation != nil && (int(math.Round(*sd.Rotation))%180+180)%180 == 90 {
			p.Width, p.Height = p.Height, p.Width
		}
	}
	p.Rate = s.RFrameRate
	if !rateKnown(p.Rate) {
		p.Rate = s.AvgFrameRate
		if !rateKnown(p.Rate) {
			p.Rate = ""
		}
	}
	if st, err := strconv.ParseFloat(pj.Format.StartTime, 64); err == nil {
		p.StartTime = st
	}

	var pts []int64
	known := true
	for _, pk := range pj.Packets {
		if pk.StreamIndex != s.Index || strings.Contains(pk.Flags, "D") {
			continue // another stream's, or one the demuxer drops (before an edit list's start)
		}
		p.Frames++
		if pk.PTS == nil {
			known = false // no presentation time
			continue
		}
		pts = append(pts, *pk.PTS)
	}
	if p.Frames == 0 {
		return p, &InputError{File: file, Reason: "the video stream has no frames"}
	}
	if known && len(pts) > 1 {
		slices.Sort(pts)
		d := pts[1] - pts[0]
		regular := d > 0
		for i := 2; i < len(pts) && regular; i++ {
			regular = pts[i]-pts[i-1] == d
		}
		// The spacing must also be the stream's rate: ffmpeg's constant-rate output (what a
		// decode from the start gives) would otherwise repeat or drop frames, and the seek,
		// which passes frames through as they are, would not.
		if regular && spacingIsRate(d, p.TimeBase, p.Rate) {
			p.Seekable, p.FirstPTS, p.FrameTicks = true, pts[0], d
		}
	}

	// One frame decoded, scaled to 16x16 gray: 256 bytes come out when ffmpeg can decode.
	out, err = runTool(ctx, "ffmpeg", file, "-nostdin", "-v", "error", "-i", file, "-map", "0:V:0",
		"-frames:v", "1", "-vf", "scale=16:16", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	if err != nil {
		return p, err
	}
	if len(out) != 256 {
		return p, &InputError{File: file, Reason: fmt.Sprintf("ffmpeg decoded no frame from the video stream (%s)", s.CodecName)}
	}
	return p, nil
}

// spacingIsRate reports whether ticks of timeBase ("1/90000") last exactly one frame at rate
// ("30000/1001").
func spacingIsRate(ticks int64, timeBase, rate string) bool {
	tb, ok1 := new(big.Rat).SetString(timeBase)
	r, ok2 := new(big.Rat).SetString(rate)
	if !ok1 || !ok2 || tb.Sign() <= 0 || r.Sign() <= 0 {
		return false
	}
	d := new(big.Rat).Mul(new(big.Rat).SetInt64(ticks), tb)
	return d.Mul(d, r).Cmp(big.NewRat(1, 1)) == 0
}

func rateKnown(r string) bool {
	n, d, ok := strings.Cut(r, "/")
	return ok && n != "0" && d != "0" && n != "" && d != ""
}

// runTool runs ffprobe or ffmpeg on file and returns its standard output. When the tool runs
// but fails, the error is an *InputError with the last lines it printed; when it cannot be
// started, or ctx ends, a plain error.
func runTool(ctx context.Context, tool, file string, args ...string) ([]byte, error) {
	cmd := command(ctx, tool, args...)
	var stderr tail.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimSpace(strings.ReplaceAll(msg, file+": ", ""))
		msg = ffmpegContext.ReplaceAllString(msg, "$1: ")
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", ee.ExitCode())
		}
		return nil, &InputError{File: file, Reason: fmt.Sprintf("%s: %s", tool, lastLines(msg, 3))}
	}
	return nil, fmt.Errorf("running %s (from PATH): %w", tool, err)
}

// ffmpegContext matches the "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c0ffee00] " that starts a line of
// ffmpeg's log: only the component's name is kept.
var ffmpegContext = regexp.MustCompile(`\[([^\] @]+) @ 0x[0-9a-f]+\] `)

// lastLines returns the last n lines of s, joined by "; ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = string(bytes.TrimSpace([]byte(lines[i])))
	}
	return strings.Join(lines, "; ")
}
