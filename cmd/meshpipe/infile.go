package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/meshpipe/meshpipe/mkvraw"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// emptyInputError is an input that holds no frame: an empty stdin or file, a file without a
// video stream or one ffmpeg decodes no frame from. Run exits with exitEmpty for it.
type emptyInputError struct{ what string }

func (e emptyInputError) Error() string { return e.what }

// fileProbe is what ffprobe says of IN: its first video stream (attached pictures, such as
// cover art, left out) and its audio streams.
type fileProbe struct {
	codec      string
	w, h       int // coded size, before any rotation
	pixFmt     string
	rate       rawvideo.Ratio // r_frame_rate, else avg_frame_rate
	sar        rawvideo.Ratio // sample (pixel) aspect ratio; zero when unknown
	fieldOrder string         // progressive, tt, bb, tb, bt, or ""
	colorRange string         // tv, pc or ""
	chromaLoc  string         // left, center, topleft, ... or ""
	rotation   int            // degrees of the display matrix; ffmpeg's decoder applies it
	audio      []audioStream
}

// audioStream is one audio stream of IN, in the order of -map 0:a:N.
type audioStream struct {
	codec    string
	channels int
}

// probeFile runs ffprobe on IN. A file that ffprobe cannot read is an error with its message;
// one without a video stream is an emptyInputError.
func probeFile(file string) (*fileProbe, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,sample_aspect_ratio,"+
			"field_order,color_range,chroma_location,channels:stream_disposition=attached_pic:stream_side_data=rotation",
		"-of", "json", file).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("-i %s: ffprobe cannot read it: %s", file, ffmpegMessage(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("-i %s: ffprobe (from PATH): %w", file, err)
	}
	var doc struct {
		Streams []struct {
			CodecType   string `json:"codec_type"`
			CodecName   string `json:"codec_name"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			PixFmt      string `json:"pix_fmt"`
			RFrameRate  string `json:"r_frame_rate"`
			AvgRate     string `json:"avg_frame_rate"`
			SAR         string `json:"sample_aspect_ratio"`
			FieldOrder  string `json:"field_order"`
			ColorRange  string `json:"color_range"`
			ChromaLoc   string `json:"chroma_location"`
			Channels    int    `json:"channels"`
			Disposition struct {
				AttachedPic int `json:"attached_pic"`
			} `json:"disposition"`
			SideData []struct {
				Rotation *float64 `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("-i %s: ffprobe's answer: %w", file, err)
	}
	p := &fileProbe{}
	video := false
	for _, s := range doc.Streams {
		switch {
		case s.CodecType == "audio":
			p.audio = append(p.audio, audioStream{codec: s.CodecName, channels: s.Channels})
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0 && !video && s.Width > 0 && s.Height > 0:
			video = true
			p.codec, p.w, p.h, p.pixFmt = s.CodecName, s.Width, s.Height, s.PixFmt
			p.fieldOrder, p.colorRange, p.chromaLoc = s.FieldOrder, s.ColorRange, s.ChromaLoc
			p.rate, _ = parseRate(s.RFrameRate, "")
			if avg, _ := parseRate(s.AvgRate, ""); p.rate.IsZero() || p.rate.Num > 1000*p.rate.Den && !avg.IsZero() {
				// r_frame_rate is ffmpeg's guess of the rate a file runs at; a variable-rate
				// file may give its time base (1000/1) instead, where the average says more.
				p.rate = avg
			}
			if a, b, ok := strings.Cut(s.SAR, ":"); ok {
				n, _ := strconv.Atoi(a)
				d, _ := strconv.Atoi(b)
				if n > 0 && d > 0 {
					p.sar = rawvideo.Ratio{Num: n, Den: d}
				}
			}
			for _, sd := range s.SideData {
				if sd.Rotation != nil {
					p.rotation = int(*sd.Rotation)
				}
			}
		}
	}
	if !video {
		return nil, emptyInputError{fmt.Sprintf("-i %s: no video stream in the file", file)}
	}
	return p, nil
}

// quarterTurn reports whether the display matrix turns the picture by 90 or 270 degrees, so
// that the decoded frames are h x w.
func (p *fileProbe) quarterTurn() bool {
	r := ((p.rotation % 360) + 360) % 360
	return r == 90 || r == 270
}

// pipeFormat is the pix_fmt the decoder hands frames over in: the file's own 4:2:0 (limited or
// full range) when it is 8-bit 4:2:0 at an even size, so that what no mesh touches goes to the
// encoder bit for bit; else bgr24, which holds any size and any sampling converted to 8-bit
// RGB (ffmpeg's Matroska muxer takes raw RGB only as bgr24, in its VfW mode).
func (p *fileProbe) pipeFormat() (ffName string, pf rawvideo.PixFmt, fullRange bool) {
	if (p.pixFmt == "yuv420p" || p.pixFmt == "yuvj420p") && p.w%2 == 0 && p.h%2 == 0 {
		return p.pixFmt, rawvideo.YUV420P, p.pixFmt == "yuvj420p" || p.colorRange == "pc"
	}
	return "bgr24", rawvideo.BGR24, false
}

// describe says what IN holds, for the log.
func (p *fileProbe) describe(file string) string {
	s := fmt.Sprintf("%s (%s %s %dx%d", file, p.codec, p.pixFmt, p.w, p.h)
	if !p.rate.IsZero() {
		s += " " + p.rate.String() + " fps"
	}
	if p.rotation != 0 {
		s += fmt.Sprintf(", rotated %d°", p.rotation)
	}
	if p.fieldOrder != "" && p.fieldOrder != "progressive" && p.fieldOrder != "unknown" {
		s += ", interlaced " + p.fieldOrder
	}
	for i, a := range p.audio {
		s += fmt.Sprintf("; audio %d: %s", i, a.codec)
	}
	return s + ")"
}

// openFile probes IN, starts ffmpeg decoding its first video stream into a Matroska stream of
// raw frames on a pipe, and reads that stream up to its first frame, so that a file with no
// frame is found before anything else starts. The frames keep ffmpeg's timestamps on their
// way to the encoder (see mkvraw); ffmpeg applies the file's rotation.
func openFile(o *options, pl plan) (*input, error) {
	in := &input{file: o.input}
	if fi, err := os.Stat(in.file); err != nil {
		return nil, fmt.Errorf("-i: %w", err)
	} else if fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, emptyInputError{fmt.Sprintf("-i %s: the file is empty (0 bytes)", in.file)}
	}
	pr, err := probeFile(in.file)
	if err != nil {
		return nil, err
	}
	in.probe = pr
	ffName, pf, full := pr.pipeFormat()
	args := []string{"-nostdin", "-v", "error"}
	if !pl.inRate.IsZero() {
		args = append(args, "-r", pl.inRate.String())
	}
	if o.duration > 0 {
		args = append(args, "-t", ffmpegDuration(o.duration))
	}
	args = append(args, "-i", in.file, "-map", "0:V:0", "-c:v", "rawvideo", "-pix_fmt", ffName)
	if pf == rawvideo.BGR24 {
		args = append(args, "-allow_raw_vfw", "1")
	}
	// One frame a cluster, no CRC elements (meshpipe changes the bytes they would cover).
	args = append(args, "-write_crc32", "0", "-cluster_size_limit", "1", "-f", "matroska", "-")
	if in.dec, err = startChild(args, nil); err != nil {
		return nil, err
	}
	in.raw = in.dec.stdout
	split, err := mkvraw.NewSplitter(in.dec.stdout)
	if err != nil {
		if !errors.Is(err, mkvraw.ErrNoFrame) {
			in.finish(true)
			return nil, fmt.Errorf("-i %s: ffmpeg's stream: %w", in.file, err)
		}
		in.finish(false) // the decoder has ended: did it fail?
		if derr := in.dec.wait(); derr != nil {
			return nil, fmt.Errorf("-i %s: ffmpeg decoding: %v%s", in.file, derr, in.dec.stderrTail())
		}
		return nil, emptyInputError{fmt.Sprintf("-i %s: ffmpeg decodes no video frame from the file", in.file)}
	}
	tr := split.Track()
	info := rawvideo.StreamInfo{Width: tr.Width, Height: tr.Height, PixFmt: pf, Rate: pr.rate, FullRange: full,
		Interlace: y4mInterlace(pr.fieldOrder), Aspect: pr.sar}
	if pr.quarterTurn() {
		info.Aspect = rawvideo.Ratio{Num: pr.sar.Den, Den: pr.sar.Num}
	}
	if !pl.inRate.IsZero() {
		info.Rate = pl.inRate
	}
	if pf == rawvideo.YUV420P {
		info.Chroma = y4mChroma(pr.chromaLoc)
	}
	size, err := pf.FrameSize(info.Width, info.Height)
	if err == nil {
		err = split.SetFrameSize(size)
	}
	if err == nil {
		in.reader, err = rawvideo.NewRawReader(split, info)
	}
	if err != nil {
		in.finish(true)
		return nil, fmt.Errorf("-i %s: %w", in.file, err)
	}
	in.split = split
	// What the stream is to the rest of meshpipe (stdout's default format): its 4:2:0 as y4m,
	// or rgb24 (the bgr24 pipe is an internal matter), unless -pix_fmt before -i says.
	in.info = info
	in.info.PixFmt = rawvideo.YUV420P
	if pf == rawvideo.BGR24 {
		in.info.PixFmt = rawvideo.RGB24
	}
	if pl.inPixFmt != 0 {
		in.info.PixFmt = pl.inPixFmt
	}
	in.y4m = in.info.PixFmt == rawvideo.YUV420P || in.info.PixFmt == rawvideo.Gray
	if in.info.PixFmt != pf {
		in.info.Chroma, in.info.FullRange = "", false
	}
	return in, nil
}

// y4mInterlace maps ffprobe's field_order to the y4m I field, as ffmpeg's y4m muxer does.
func y4mInterlace(fieldOrder string) byte {
	switch fieldOrder {
	case "progressive":
		return 'p'
	case "tt", "tb":
		return 't'
	case "bb", "bt":
		return 'b'
	}
	return 0
}

// y4mChroma maps ffprobe's chroma_location to the y4m C field of 4:2:0, as ffmpeg's y4m
// muxer does.
func y4mChroma(loc string) string {
	switch loc {
	case "left":
		return "420mpeg2"
	case "topleft":
		return "420paldv"
	}
	return "420jpeg"
}
