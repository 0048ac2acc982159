package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// fileOptions are the options of -o OUT that ffmpeg has too.
type fileOptions struct {
	noAudio    bool   // -an: no audio in OUT
	audioCodec string // -c:a, -acodec: the audio encoder for every stream ("copy" to copy); "" chooses
}

// fileFlags defines -an and -c:a.
func (o *options) fileFlags(d *flagSet) {
	d.boolean(&o.file.noAudio, "an", "-o OUT without audio")
	d.str(&o.file.audioCodec, "c:a,acodec", "CODEC", "audio encoder for OUT, as in ffmpeg (copy: copy the streams as they are; default: copy where OUT's container takes the codec, else its usual encoder)")
}

// outPlan is what meshpipe settled for -o OUT before anything ran: the file ffmpeg writes
// (renamed to OUT at the end), the audio of each stream of IN and the video options. Its
// choices were tried on ffmpeg itself, so that an OUT ffmpeg cannot write fails before any
// model is loaded.
type outPlan struct {
	out, tmp string
	audio    []audioChoice
	video    []string // encoder options for the video: -vf format=yuv420p or -pix_fmt FMT
}

// audioChoice is what becomes of one audio stream of IN (-map 1:a:index).
type audioChoice struct {
	index   int
	from    string // its codec in IN
	copy    bool   // copied as it is
	encoder string // -c:a: the encoder asked for; "" for the container's default when not copied
	to      string // its codec in OUT
}

func (a audioChoice) String() string {
	switch {
	case a.copy:
		return fmt.Sprintf("audio %d: %s copied", a.index, a.from)
	case a.encoder != "":
		return fmt.Sprintf("audio %d: %s encoded with %s (%s)", a.index, a.from, a.encoder, a.to)
	}
	return fmt.Sprintf("audio %d: %s re-encoded to %s, the container's usual codec (it does not take %s)", a.index, a.from, a.to, a.from)
}

// partialName is the file the encoder writes, beside out and with its extension (ffmpeg picks
// the container by it): out.mp4 -> out.partial-PID.mp4.
func partialName(out string) string {
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + ".partial-" + strconv.Itoa(os.Getpid()) + ext
}

// pipeFormat returns the ffmpeg name of the pix_fmt the encoder reads and whether it is
// 4:2:0 already.
func pipeFormat(info rawvideo.StreamInfo) (name string, is420 bool) {
	if info.PixFmt == rawvideo.YUV420P {
		if info.FullRange {
			return "yuvj420p", true
		}
		return "yuv420p", true
	}
	return info.PixFmt.String(), false
}

// videoArgs are the encoder's video options: -pix_fmt as given after -i; else 8-bit 4:2:0
// (what players everywhere take) where the size allows it; else nothing, and ffmpeg picks
// the format nearest the frames' own that the encoder takes (yuv444p for libx264 at an odd
// size). 4:2:0 is asked of a format filter, not of -pix_fmt, so that an encoder that cannot
// take it (a GIF's) gets the nearest format it can.
func videoArgs(o *options, pipe rawvideo.StreamInfo) []string {
	if o.out.pixFmt != "" {
		return []string{"-pix_fmt", o.out.pixFmt}
	}
	if _, is420 := pipeFormat(pipe); !is420 && pipe.Width%2 == 0 && pipe.Height%2 == 0 {
		return []string{"-vf", "format=yuv420p"}
	}
	return nil
}

// planOutput settles -o OUT: the audio of each stream of IN (-an: none; -c:a: that encoder;
// else a copy where OUT's container takes the codec, else the container's usual encoder, as
// ffmpeg picks by default) and the video options, and tries them on ffmpeg: black frames
// (one, without audio) and a tenth of a second of IN's audio written to a file of OUT's name
// in a temporary folder (once more per audio stream when the first try fails, to find the
// streams to re-encode). It also checks that OUT's folder is writable. pipe describes the
// frames the encoder will read.
func planOutput(o *options, in *input, pipe rawvideo.StreamInfo) (*outPlan, error) {
	pl := &outPlan{out: o.output, tmp: partialName(o.output), video: videoArgs(o, pipe)}
	f, err := os.OpenFile(pl.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", o.output, err)
	}
	f.Close()
	os.Remove(pl.tmp)
	dir, err := os.MkdirTemp("", "meshpipe-trial-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	t := trial{file: filepath.Join(dir, filepath.Base(o.output)), out: o.output}

	if in.probe != nil && !o.file.noAudio {
		for i, a := range in.probe.audio {
			c := audioChoice{index: i, from: a.codec, to: a.codec, copy: o.file.audioCodec == "" || o.file.audioCodec == "copy"}
			if !c.copy {
				c.encoder = o.file.audioCodec
			}
			pl.audio = append(pl.audio, c)
		}
	}
	name, _ := pipeFormat(pipe)
	rate := pipe.Rate
	if rate.IsZero() {
		rate = rawvideo.Ratio{Num: 25, Den: 1}
	}
	video := fmt.Sprintf("color=c=black:s=%dx%d:r=%s:d=0.1,format=%s", pipe.Width, pipe.Height, rate, name)
	try := func(audio []audioChoice) error {
		args := []string{"-f", "lavfi", "-i", video}
		if len(audio) > 0 {
			args = append(args, "-i", in.file)
		}
		args = append(args, "-map", "0:v")
		for _, a := range audio {
			args = append(args, "-map", fmt.Sprintf("1:a:%d", a.index))
		}
		args = append(args, audioArgs(audio)...)
		args = append(args, pl.video...)
		if len(audio) == 0 {
			// One frame, which an image file (OUT.png of a still) takes too.
			return t.run(append(args, "-frames:v", "1"))
		}
		return t.run(append(args, "-t", "0.1")) // not -frames:v, which would end the audio at once
	}
	err = try(pl.audio)
	if err != nil && o.file.audioCodec == "" && len(pl.audio) > 0 {
		// Which streams does the container not take as they are? Those go to its encoder.
		again := false
		if try(nil) == nil {
			for k := range pl.audio {
				if try(pl.audio[k:k+1]) != nil {
					pl.audio[k].copy, again = false, true
				}
			}
		}
		if again {
			err = try(pl.audio)
		}
	}
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "stream #") {
			hint = " (stream #0 is the video, the others IN's audio: -pix_fmt after -i chooses the video's format, -c:a CODEC the audio's, -an leaves the audio out)"
		}
		return nil, fmt.Errorf("-o %s: ffmpeg cannot write it: %w%s", o.output, err, hint)
	}
	for k, a := range pl.audio {
		if !a.copy {
			pl.audio[k].to = t.codec(fmt.Sprintf("a:%d", k))
		}
	}
	return pl, nil
}

// audioArgs are the codec options of the audio streams of OUT, in order: copy, the encoder
// asked for, or none (the container's usual encoder).
func audioArgs(audio []audioChoice) []string {
	var args []string
	for k, a := range audio {
		switch {
		case a.copy:
			args = append(args, fmt.Sprintf("-c:a:%d", k), "copy")
		case a.encoder != "":
			args = append(args, fmt.Sprintf("-c:a:%d", k), a.encoder)
		}
	}
	return args
}

// trial runs ffmpeg writing a short sample of what OUT will hold to file, a file of OUT's
// name in a temporary folder, and reports its failure with OUT's name in place of file's.
type trial struct{ file, out string }

func (t trial) run(args []string) error {
	cmd := exec.Command("ffmpeg", append(append([]string{"-nostdin", "-v", "error"}, args...), "-y", t.file)...)
	b, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	msg := ffmpegMessage(strings.ReplaceAll(string(b), t.file, t.out))
	if msg == "" {
		return err
	}
	return errors.New(msg)
}

// ffmpegMessage puts what ffmpeg or ffprobe printed on one line, its lines joined by " | ",
// without the "[mp4 @ 0x55d0c2a0] " that starts some of them.
func ffmpegMessage(s string) string {
	s = ffmpegContext.ReplaceAllString(s, "")
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ")), " ")
}

var ffmpegContext = regexp.MustCompile(`\[[^\]\n]* @ 0x[0-9a-f]+\] `)

// codec is the codec of the last trial's stream spec (a:0, the first audio stream).
func (t trial) codec(spec string) string {
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", spec, "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", t.file).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// encoderArgs are the arguments of the ffmpeg that reads the frames on its stdin and writes
// the plan's file: from the decoder's Matroska stream (file input: its timestamps, rate and
// colour description pass through, the first frame's time keeps its distance to the audio) or
// from y4m or rawvideo, with the audio streams of IN mapped as planned and the video
// options; -t cuts the audio too, and -r after -i retimes the frames at that rate.
func encoderArgs(o *options, pl plan, in *input, out *output) []string {
	args := []string{"-nostdin", "-v", "error", "-y"}
	if !pl.outRate.IsZero() {
		args = append(args, "-r", pl.outRate.String())
	}
	info := out.info
	switch {
	case in.split != nil:
		if t := in.split.Track().FirstTime; t > 0 {
			args = append(args, "-itsoffset", ffmpegDuration(t))
		}
		args = append(args, "-f", "matroska", "-i", "-")
	case out.y4m:
		args = append(args, "-f", "yuv4mpegpipe", "-i", "-")
	default:
		rate := info.Rate
		if rate.IsZero() {
			rate = rawvideo.Ratio{Num: 25, Den: 1}
		}
		name, _ := pipeFormat(info)
		args = append(args, "-f", "rawvideo", "-pix_fmt", name, "-s", fmt.Sprintf("%dx%d", info.Width, info.Height),
			"-r", rate.String(), "-i", "-")
	}
	if len(out.plan.audio) > 0 {
		args = append(args, "-i", in.file)
	}
	args = append(args, "-map", "0:v:0")
	for _, a := range out.plan.audio {
		args = append(args, "-map", fmt.Sprintf("1:a:%d", a.index))
	}
	args = append(args, audioArgs(out.plan.audio)...)
	args = append(args, out.plan.video...)
	if o.duration > 0 {
		args = append(args, "-t", ffmpegDuration(o.duration))
	}
	return append(args, out.plan.tmp)
}

// settle puts OUT in place once the encoder has ended: the file written is renamed to OUT
// when the run went well, or when it failed or was stopped after frames were written (OUT
// then holds those frames: a playable file, the encoder having finished it, with IN's audio
// cut where they end); it is removed when the encoder failed (OUT is not written) or no frame
// was written. note is what the error says of OUT; err a failure to rename.
func (out *output) settle(written int64, failed, stopped bool, encErr error) (note string, err error) {
	if out.plan == nil {
		return "", nil
	}
	tmp := out.plan.tmp
	switch {
	case failed && written == 0:
		os.Remove(tmp)
		return fmt.Sprintf("; %s was not written: no frame", out.file), nil
	case encErr != nil:
		os.Remove(tmp)
		return fmt.Sprintf("; %s was not written", out.file), nil
	}
	if (failed || stopped) && out.joiner != nil && len(out.plan.audio) > 0 {
		if err := out.trim(out.joiner.End()); err != nil {
			note = fmt.Sprintf(" (its audio runs on to the end of %s: cutting it failed: %v)", filepath.Base(out.plan.out), err)
		}
	}
	if err := out.place(); err != nil {
		if failed {
			return "; " + err.Error(), nil
		}
		return "", err
	}
	if failed {
		return fmt.Sprintf("; %s holds the %d frames before it (0..%d)%s", out.file, written, written-1, note), nil
	}
	return note, nil
}

// trim cuts the file written at end (in the decoder's time, which the file keeps): after a
// run that ended early, the encoder has taken IN's audio on to its end. It copies the
// streams up to end into a new file, which then takes the written file's name.
func (out *output) trim(end time.Duration) error {
	tmp := out.plan.tmp
	ext := filepath.Ext(tmp)
	cut := strings.TrimSuffix(tmp, ext) + "-cut" + ext
	b, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", tmp, "-map", "0", "-c", "copy",
		"-t", ffmpegDuration(end), "-y", cut).CombinedOutput()
	if err != nil {
		os.Remove(cut)
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(b)))
	}
	return os.Rename(cut, tmp)
}

// place renames the file written to OUT: over an existing OUT with -y, else only if no OUT
// has appeared meanwhile (a hard link, then the name written removed).
func (out *output) place() error {
	tmp := out.plan.tmp
	if !out.overwrite {
		err := os.Link(tmp, out.file)
		if err == nil {
			return os.Remove(tmp)
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("-o %s: the file appeared during the run; the output is in %s (add -y to overwrite)", out.file, tmp)
		}
		if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EXDEV) {
			return fmt.Errorf("-o %s: %w; the output is in %s", out.file, err, tmp)
		}
		// A file system without hard links: rename, after looking.
		if _, err := os.Lstat(out.file); err == nil {
			return fmt.Errorf("-o %s: the file appeared during the run; the output is in %s (add -y to overwrite)", out.file, tmp)
		}
	}
	if err := os.Rename(tmp, out.file); err != nil {
		return fmt.Errorf("-o %s: %w; the output is in %s", out.file, err, tmp)
	}
	return nil
}

// fileOut reports whether the output is a file (-o OUT).
func (o *options) fileOut() bool { return o.output != "" && o.output != "-" }

// checkFile checks the flags that concern -o OUT: -f after -i names stdout's stream format
// (OUT's container comes from its name, as in ffmpeg), -c:a needs OUT, -pix_fmt before a file
// -i names the stream on stdout, and a name ffmpeg cannot write a file to is refused.
func (o *options) checkFile(live bool) error {
	fileIn := o.input != "" && o.input != "-" && !live
	switch {
	case o.fileOut() && o.out.format != "":
		return fmt.Errorf("-f %s after -i: with -o %s the container comes from the name (as ffmpeg picks it); -f describes the stream on stdout", o.out.format, o.output)
	case !o.fileOut() && o.file.audioCodec != "":
		return fmt.Errorf("-c:a %s: only -o OUT has audio; the stream on stdout is video alone", o.file.audioCodec)
	case o.fileOut() && fileIn && o.in.pixFmt != "":
		return fmt.Errorf("-pix_fmt %s before -i %s: it names the stream on stdout; give OUT's pix_fmt after -i", o.in.pixFmt, o.input)
	case o.fileOut() && (strings.HasSuffix(o.output, "/") || filepath.Base(o.output) == "." || filepath.Base(o.output) == ".."):
		return fmt.Errorf("-o %s: want a file name", o.output)
	}
	return nil
}
