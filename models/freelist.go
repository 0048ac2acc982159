package models

import "sync"

// freeList keeps scratch values for reuse by callers that may come from several goroutines at
// once (the pose workers). Unlike a sync.Pool it never drops a value, neither at a garbage
// collection nor when a goroutine moves to another thread, so once each concurrent caller has
// had one, get and put allocate nothing: the list holds at most as many values as there were
// callers at once.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// get returns a value put back earlier, or a new zero one.
func (l *freeList[T]) get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.items); n > 0 {
		x := l.items[n-1]
		l.items[n-1] = nil
		l.items = l.items[:n-1]
		return x
	}
	return new(T)
}

// put gives x back for a later get.
func (l *freeList[T]) put(x *T) {
	l.mu.Lock()
	l.items = append(l.items, x)
	l.mu.Unlock()
}
