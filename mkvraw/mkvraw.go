// Package mkvraw carries raw video frames through a Matroska stream without touching anything
// else in it. A Splitter takes apart the stream that `ffmpeg -i IN -c:v rawvideo -f matroska -`
// writes (one video track, uncompressed frames): its Read gives the frames' pixel bytes one
// after the other, as a rawvideo stream, and it keeps every byte that lies between two frames
// (EBML header, segment info, tracks, tags, cluster headers, block headers, cues). A Joiner
// writes that same stream again around new pixel bytes of the same length, so that the
// timestamps, frame rate, interlacing, aspect ratio and colour description ffmpeg wrote reach
// the encoding ffmpeg unchanged, variable frame rate included.
//
// The format is Matroska's EBML (RFC 8794) with the element IDs of RFC 9559 (Matroska): only
// the elements named below are read; every other is passed through as bytes.
package mkvraw

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Element IDs (RFC 9559, section 5.1), with their length marker bits as written.
const (
	idSegment         = 0x18538067
	idInfo            = 0x1549A966
	idTimestampScale  = 0x2AD7B1
	idTracks          = 0x1654AE6B
	idTrackEntry      = 0xAE
	idTrackNumber     = 0xD7
	idTrackType       = 0x83
	idCodecID         = 0x86
	idDefaultDuration = 0x23E383
	idVideo           = 0xE0
	idPixelWidth      = 0xB0
	idPixelHeight     = 0xBA
	idCluster         = 0x1F43B675
	idClusterTime     = 0xE7
	idBlockGroup      = 0xA0
	idBlock           = 0xA1
	idSimpleBlock     = 0xA3
)

// masters are the master elements whose children a Splitter reads one by one (it needs what
// is inside them); any other element is read whole.
var masters = map[uint32]bool{idSegment: true, idInfo: true, idTracks: true, idTrackEntry: true,
	idVideo: true, idCluster: true, idBlockGroup: true}

// maxElement bounds the size of an element read whole (every element but a frame): Matroska
// headers, tags and cues are kilobytes; a larger size means the stream is not what it claims.
const maxElement = 64 << 20

// trackTypeVideo is TrackType's value for a video track (RFC 9559, 5.1.4.1.3).
const trackTypeVideo = 1

// ErrNoFrame is returned (wrapped) by NewSplitter for a stream that ends before its first
// frame: ffmpeg decoded no video frame from its input.
var ErrNoFrame = errors.New("no video frame")

// Track describes the stream's video track, as read before its first frame.
type Track struct {
	// Number is the track number that blocks refer to.
	Number uint64
	// CodecID is the Matroska codec ID: "V_UNCOMPRESSED" (the pix_fmt is in the track's
	// ColourSpace) or "V_MS/VFW/FOURCC" (ffmpeg's -allow_raw_vfw mode for packed RGB).
	CodecID string
	// Width and Height are the frame size in pixels (PixelWidth, PixelHeight).
	Width, Height int
	// DefaultDuration is the nominal time of one frame; zero when the stream does not say.
	DefaultDuration time.Duration
	// FirstTime is the first frame's timestamp: cluster time plus block offset, in units of
	// the segment's TimestampScale (1 ms unless the stream says otherwise).
	FirstTime time.Duration
}

// Gaps hands the bytes between frames from a Splitter to a Joiner, first in, first out. It is
// safe for one goroutine reading and another writing.
type Gaps struct {
	mu      sync.Mutex
	queue   []gap
	trailer []byte // what came after the last frame, once the stream ended cleanly
	ended   bool
}

// gap is what lies before a frame, and the frame's time.
type gap struct {
	bytes []byte
	time  time.Duration
}

func (g *Gaps) push(b gap) {
	g.mu.Lock()
	g.queue = append(g.queue, b)
	g.mu.Unlock()
}

func (g *Gaps) pop() (gap, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		return gap{}, false
	}
	b := g.queue[0]
	g.queue[0] = gap{}
	g.queue = g.queue[1:]
	return b, true
}

// next returns the time of the first frame not yet joined, if the Splitter has read it.
func (g *Gaps) next() (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		return 0, false
	}
	return g.queue[0].time, true
}

func (g *Gaps) end(trailer []byte) {
	g.mu.Lock()
	g.trailer, g.ended = trailer, true
	g.mu.Unlock()
}

// complete returns the trailer when the stream ended and every frame has been joined.
func (g *Gaps) complete() ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.trailer, g.ended && len(g.queue) == 0
}

// Splitter reads a Matroska stream of one uncompressed video track. Read gives the frames'
// bytes, concatenated; Gaps holds what lies between them. One goroutine reads a Splitter.
type Splitter struct {
	r         *bufio.Reader
	track     Track
	gaps      *Gaps
	pending   bytes.Buffer // bytes read since the last frame's pixels
	frameSize int          // bytes every frame must have; 0 until SetFrameSize
	left      int          // bytes of the current frame not yet read
	frames    int64        // frames begun
	scale     time.Duration
	cluster   uint64  // the current cluster's time, in scale units
	first     bool    // the first frame's time is known
	done      error   // io.EOF after a clean end, or the error that stopped reading
	entries   []Track // the track entries read, the last one being read
	videos    int     // video tracks seen
}

// NewSplitter reads r up to the first frame's pixels and returns a Splitter whose Track is
// known. A stream that ends cleanly before any frame gives an error wrapping ErrNoFrame; one
// that is not Matroska, has no video track or more than one track, or whose video is not
// uncompressed, an error saying so.
func NewSplitter(r io.Reader) (*Splitter, error) {
	s := &Splitter{r: bufio.NewReaderSize(r, 1<<16), gaps: &Gaps{}, scale: time.Millisecond}
	head, err := s.r.Peek(4)
	if err == io.EOF && len(head) == 0 {
		return nil, fmt.Errorf("matroska stream: empty: %w", ErrNoFrame)
	}
	if len(head) < 4 || binary.BigEndian.Uint32(head) != 0x1A45DFA3 {
		return nil, fmt.Errorf("matroska stream: it does not start with an EBML header (% x)", head)
	}
	if err := s.next(); err != nil {
		if errors.Is(err, io.EOF) {
			if s.videos == 0 {
				return nil, fmt.Errorf("matroska stream: no video track: %w", ErrNoFrame)
			}
			return nil, fmt.Errorf("matroska stream: %w", ErrNoFrame)
		}
		return nil, err
	}
	return s, nil
}

// Track returns the video track, as read before the first frame.
func (s *Splitter) Track() Track { return s.track }

// Gaps returns the queue a Joiner takes the bytes between frames from.
func (s *Splitter) Gaps() *Gaps { return s.gaps }

// SetFrameSize sets the number of bytes every frame must have (the track's size in the
// pix_fmt ffmpeg was asked for): it returns an error when the first frame has another size,
// and Read fails on a later frame of another size.
func (s *Splitter) SetFrameSize(n int) error {
	s.frameSize = n
	if s.frames == 1 && s.left != n {
		return s.sizeError(0, int64(s.left))
	}
	return nil
}

func (s *Splitter) sizeError(frame, got int64) error {
	return fmt.Errorf("matroska stream: frame %d: a block of %d bytes, want %d (a %dx%d frame)", frame, got, s.frameSize, s.track.Width, s.track.Height)
}

// Read reads the frames' bytes: the first frame's, then the next frame's, and so on. It
// returns io.EOF at the clean end of the stream, io.ErrUnexpectedEOF when the stream ends
// inside an element, and an error naming the frame for a frame of the wrong size or a stream
// that breaks the format.
func (s *Splitter) Read(p []byte) (int, error) {
	if s.left == 0 {
		if s.done != nil {
			return 0, s.done
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	if len(p) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= n
	if errors.Is(err, io.EOF) {
		if s.left > 0 {
			err = io.ErrUnexpectedEOF
			s.done = err
		} else {
			err = nil
		}
	}
	return n, err
}

// next reads elements up to the start of the next frame's pixels, keeping their bytes in
// pending and handing them to gaps. At the clean end of the stream it hands the rest over as
// the trailer and returns io.EOF.
func (s *Splitter) next() (err error) {
	defer func() {
		if err != nil {
			s.done = err
		}
	}()
	for {
		start := s.pending.Len()
		id, err := s.readID()
		if errors.Is(err, io.EOF) && s.pending.Len() == start {
			s.gaps.end(bytes.Clone(s.pending.Bytes()))
			s.pending.Reset()
			return io.EOF
		}
		if err != nil {
			return s.broken(err)
		}
		size, known, err := s.readSize()
		if err != nil {
			return s.broken(err)
		}
		if masters[id] {
			if id == idTrackEntry {
				s.entries = append(s.entries, Track{})
			}
			continue // its children follow
		}
		if !known {
			return fmt.Errorf("matroska stream: element %#x of unknown size", id)
		}
		if id == idSimpleBlock || id == idBlock {
			return s.block(size)
		}
		if size > maxElement {
			return fmt.Errorf("matroska stream: element %#x of %d bytes", id, size)
		}
		// Copied as it comes, so that a size the stream does not hold allocates nothing.
		at := s.pending.Len()
		if _, err := io.CopyN(&s.pending, s.r, int64(size)); err != nil {
			return s.broken(err)
		}
		s.element(id, s.pending.Bytes()[at:])
	}
}

// element takes what the Splitter needs from an element read whole.
func (s *Splitter) element(id uint32, body []byte) {
	switch id {
	case idTimestampScale:
		if v := uintOf(body); v > 0 {
			s.scale = time.Duration(v)
		}
	case idClusterTime:
		s.cluster = uintOf(body)
	case idTrackType:
		if uintOf(body) == trackTypeVideo {
			s.videos++
		}
	}
	if len(s.entries) == 0 {
		return
	}
	t := &s.entries[len(s.entries)-1]
	switch id {
	case idTrackNumber:
		t.Number = uintOf(body)
	case idCodecID:
		t.CodecID = string(bytes.TrimRight(body, "\x00"))
	case idDefaultDuration:
		t.DefaultDuration = time.Duration(uintOf(body))
	case idPixelWidth:
		t.Width = int(uintOf(body))
	case idPixelHeight:
		t.Height = int(uintOf(body))
	}
}

// block reads a (Simple)Block's header (track number, time offset, flags: RFC 9559, 10.1 and
// 10.2) and leaves the Splitter at the start of its pixels.
func (s *Splitter) block(size uint64) error {
	if s.track.Number == 0 {
		if s.videos == 0 {
			return fmt.Errorf("matroska stream: no video track: %w", ErrNoFrame)
		}
		if s.videos != 1 || len(s.entries) != 1 {
			return fmt.Errorf("matroska stream: %d tracks, %d of them video; want one video track", len(s.entries), s.videos)
		}
		s.track = s.entries[0]
		if s.track.Number == 0 || s.track.Width <= 0 || s.track.Height <= 0 {
			return fmt.Errorf("matroska stream: the video track has no number or size (%+v)", s.track)
		}
	}
	if s.track.CodecID != "V_UNCOMPRESSED" && s.track.CodecID != "V_MS/VFW/FOURCC" {
		return fmt.Errorf("matroska stream: codec %q, want uncompressed video", s.track.CodecID)
	}
	head := s.pending.Len()
	num, err := s.readVint()
	if err != nil {
		return s.broken(err)
	}
	var tf [3]byte
	if _, err := io.ReadFull(s.r, tf[:]); err != nil {
		return s.broken(err)
	}
	s.pending.Write(tf[:])
	if num != s.track.Number {
		return fmt.Errorf("matroska stream: frame %d: a block of track %d, want %d (one track only)", s.frames, num, s.track.Number)
	}
	if tf[2]&0x06 != 0 {
		return fmt.Errorf("matroska stream: frame %d: a laced block (flags %#x); uncompressed video has one frame a block", s.frames, tf[2])
	}
	pix := int64(size) - int64(s.pending.Len()-head)
	if s.frameSize > 0 && pix != int64(s.frameSize) {
		return s.sizeError(s.frames, pix)
	}
	if pix <= 0 {
		return fmt.Errorf("matroska stream: frame %d: an empty block", s.frames)
	}
	rel := int64(int16(binary.BigEndian.Uint16(tf[:2])))
	at := time.Duration(int64(s.cluster)+rel) * s.scale
	if !s.first {
		s.track.FirstTime = at
		s.first = true
	}
	s.gaps.push(gap{bytes.Clone(s.pending.Bytes()), at})
	s.pending.Reset()
	s.left = int(pix)
	s.frames++
	return nil
}

// broken turns an end of stream inside an element into io.ErrUnexpectedEOF.
func (s *Splitter) broken(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("matroska stream: it ends inside an element: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("matroska stream: %w", err)
}

// readID reads an element ID (1 to 4 bytes, its length marker kept) into pending.
func (s *Splitter) readID() (uint32, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := leadingZeros(b) + 1
	if n > 4 {
		return 0, fmt.Errorf("bad element ID byte %#x", b)
	}
	s.pending.WriteByte(b)
	id := uint32(b)
	for i := 1; i < n; i++ {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, io.ErrUnexpectedEOF
		}
		s.pending.WriteByte(c)
		id = id<<8 | uint32(c)
	}
	return id, nil
}

// readSize reads an element data size (1 to 8 bytes) into pending; all ones is unknown.
func (s *Splitter) readSize() (size uint64, known bool, err error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, false, io.ErrUnexpectedEOF
	}
	n := leadingZeros(b) + 1
	if n > 8 {
		return 0, false, errors.New("bad element size byte 0")
	}
	s.pending.WriteByte(b)
	v := uint64(b) & (0xFF >> n)
	ones := v == 0xFF>>n
	for i := 1; i < n; i++ {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, false, io.ErrUnexpectedEOF
		}
		s.pending.WriteByte(c)
		v = v<<8 | uint64(c)
		ones = ones && c == 0xFF
	}
	return v, !ones, nil
}

// readVint reads a variable-size integer (a block's track number) into pending.
func (s *Splitter) readVint() (uint64, error) {
	v, known, err := s.readSize()
	if err != nil {
		return 0, err
	}
	if !known {
		return 0, errors.New("bad track number")
	}
	return v, nil
}

func leadingZeros(b byte) int {
	n := 0
	for mask := byte(0x80); mask != 0 && b&mask == 0; mask >>= 1 {
		n++
	}
	return n
}

// uintOf reads a big-endian unsigned integer element (0 to 8 bytes).
func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// Joiner writes a Splitter's stream again with new frame bytes: before each frame, the bytes
// that came before that frame in the stream read; at Close, what came after the last one.
// Every Write of frame bytes must come in frame order, with frames of the Splitter's size.
type Joiner struct {
	w      io.Writer
	gaps   *Gaps
	size   int
	buf    []byte // a frame being gathered from several Writes
	frames int64
	last   time.Duration // the last frame's time
	step   time.Duration // the track's DefaultDuration
}

// NewJoiner returns a Joiner writing to w the stream s reads, with frames of frameSize bytes.
func NewJoiner(w io.Writer, s *Splitter, frameSize int) *Joiner {
	return &Joiner{w: w, gaps: s.gaps, size: frameSize, step: s.track.DefaultDuration}
}

// Write takes frame bytes: each time a whole frame has come, it writes the bytes that came
// before it in the stream read, then the frame. A frame the Splitter has not read yet is an
// error.
func (j *Joiner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(j.buf) == 0 && len(p) >= j.size {
			if err := j.frame(p[:j.size]); err != nil {
				return n - len(p), err
			}
			p = p[j.size:]
			continue
		}
		k := min(j.size-len(j.buf), len(p))
		j.buf = append(j.buf, p[:k]...)
		p = p[k:]
		if len(j.buf) == j.size {
			if err := j.frame(j.buf); err != nil {
				return n - len(p), err
			}
			j.buf = j.buf[:0]
		}
	}
	return n, nil
}

func (j *Joiner) frame(pix []byte) error {
	gap, ok := j.gaps.pop()
	if !ok {
		return fmt.Errorf("matroska stream: frame %d written before it was read", j.frames)
	}
	if _, err := j.w.Write(gap.bytes); err != nil {
		return err
	}
	j.last = gap.time
	if _, err := j.w.Write(pix); err != nil {
		return err
	}
	j.frames++
	return nil
}

// End returns the time at which the frames written end, in the stream's time (that of its
// blocks, in TimestampScale units): the next frame's time when the Splitter has read it, else
// the last frame's time plus the track's DefaultDuration. It is 0 before the first frame.
func (j *Joiner) End() time.Duration {
	if j.frames == 0 {
		return 0
	}
	if t, ok := j.gaps.next(); ok {
		return t
	}
	return j.last + j.step
}

// Close writes what followed the last frame in the stream read (cues, tags) when the
// Splitter reached the end of its stream and every frame it read has been written; otherwise
// (a run that stopped early) nothing: the stream then ends after the last whole frame, which
// Matroska readers take as the end of the segment. It does not close the underlying writer.
func (j *Joiner) Close() error {
	if len(j.buf) > 0 {
		return fmt.Errorf("matroska stream: frame %d: %d of its %d bytes written", j.frames, len(j.buf), j.size)
	}
	trailer, ok := j.gaps.complete()
	if !ok || len(trailer) == 0 {
		return nil
	}
	_, err := j.w.Write(trailer)
	return err
}
