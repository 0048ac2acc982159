// Package segment processes one range of a video file's frames on this machine, and joins the
// ranges of a file back into one output: it probes a file (ffprobe), plans frame-exact ranges,
// runs meshpipe on one range (ffmpeg decoding, meshpipe drawing, a lossless intermediate file
// written), and joins the intermediates frame-exactly into the output (ffmpeg encoding, the
// input's audio copied). It knows nothing of Temporal: package farm runs these steps as
// activities on workers.
//
// Frame numbers count decoded frames of the first video stream from 0, in presentation order,
// as `meshpipe -i IN` sees them.
package segment

import "fmt"

// Range is one segment of a file: frames [Start, End) are written; the Warmup frames before
// Start run through meshpipe first, so that its detector, tracker and smoothing start Start in
// a state close to that of one run over the whole file, and their output is discarded.
type Range struct {
	// Index is the segment's place in the file, from 0.
	Index int
	// Start and End bound the frames written, [Start, End), in frame numbers.
	Start, End int
	// Warmup is the number of frames before Start run and discarded (Start - Warmup >= 0).
	Warmup int
	// Last marks the file's last segment: it runs to the end of the stream, whatever End says,
	// so that a frame count from the container that is too low loses nothing.
	Last bool
}

// Len is the number of frames the range writes when the file has at least End frames.
func (r Range) Len() int { return r.End - r.Start }

func (r Range) String() string {
	s := fmt.Sprintf("segment %d: frames %d-%d", r.Index, r.Start, r.End-1)
	if r.Last {
		s = fmt.Sprintf("segment %d: frames %d-end", r.Index, r.Start)
	}
	if r.Warmup > 0 {
		s += fmt.Sprintf(" (after %d warm-up frames)", r.Warmup)
	}
	return s
}

// Plan splits frames frames into segments of about segmentFrames each: n = round(frames /
// segmentFrames) segments (at least 1), as equal as whole frames allow, so that no segment is
// less than two thirds or more than one and a half times segmentFrames (for files of at least
// segmentFrames). Each segment but the first gets min(warmup, Start) warm-up frames. It
// returns an error for frames < 0, segmentFrames < 1 or warmup < 0. A file of 0 frames gets one
// segment that runs to the end of the stream.
func Plan(frames, segmentFrames, warmup int) ([]Range, error) {
	switch {
	case frames < 0:
		return nil, fmt.Errorf("plan: %d frames", frames)
	case segmentFrames < 1:
		return nil, fmt.Errorf("plan: segment length %d frames, want at least 1", segmentFrames)
	case warmup < 0:
		return nil, fmt.Errorf("plan: %d warm-up frames, want 0 or more", warmup)
	}
	n := (frames + segmentFrames/2) / segmentFrames
	if n < 1 {
		n = 1
	}
	ranges := make([]Range, n)
	for i := range ranges {
		start, end := i*frames/n, (i+1)*frames/n
		ranges[i] = Range{Index: i, Start: start, End: end, Warmup: min(warmup, start), Last: i == n-1}
	}
	return ranges, nil
}
