package stages

import "fmt"

// Reorder puts items that finish out of order back in sequence order. It has a fixed window
// of slots, indexed by seq modulo the window, and no goroutines of its own (the shape of
// pion/webrtc's samplebuilder): the caller pushes what finished and pops what is next.
type Reorder[T any] struct {
	slots []T
	full  []bool
	next  int64
}

// NewReorder returns a Reorder that holds up to window items, starting at sequence 0.
func NewReorder[T any](window int) *Reorder[T] {
	return &Reorder[T]{slots: make([]T, window), full: make([]bool, window)}
}

// Push stores v as item seq. It returns an error when seq was already popped, is already
// held, or lies window or more ahead of the next item to pop: with at most window items in
// flight none of these can happen, so an error means a bug upstream.
func (r *Reorder[T]) Push(seq int64, v T) error {
	n := int64(len(r.slots))
	if seq < r.next || seq >= r.next+n {
		return fmt.Errorf("reorder: item %d is outside the window [%d, %d)", seq, r.next, r.next+n)
	}
	i := seq % n
	if r.full[i] {
		return fmt.Errorf("reorder: item %d pushed twice", seq)
	}
	r.slots[i], r.full[i] = v, true
	return nil
}

// Pop returns the next item in sequence and true, or the zero value and false while that item
// has not been pushed yet.
func (r *Reorder[T]) Pop() (T, bool) {
	var zero T
	i := r.next % int64(len(r.slots))
	if !r.full[i] {
		return zero, false
	}
	v := r.slots[i]
	r.slots[i], r.full[i] = zero, false
	r.next++
	return v, true
}

// Next returns the sequence number of the next item Pop will return.
func (r *Reorder[T]) Next() int64 { return r.next }

// reorder is the graph's reorder stage: it takes the jobs from in as they finish, in any order,
// and hands them to emit in sequence order (emit is the write stage). It returns emit's first
// error, or nil once in is closed. With at most window jobs in flight the ring never overflows.
func (g *graph) reorder(in <-chan *job, window int, emit func(*job) error) error {
	rb := NewReorder[*job](window)
	for j := range in {
		if err := rb.Push(j.frame.Seq, j); err != nil {
			return err
		}
		for {
			next, ok := rb.Pop()
			if !ok {
				break
			}
			if err := emit(next); err != nil {
				return err
			}
		}
	}
	return nil
}
