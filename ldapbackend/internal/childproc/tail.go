package childproc

import "sync"

// Tail keeps the last TailSize bytes written to it.
type Tail struct {
	mu  sync.Mutex
	buf []byte
}

// TailSize is how much output a Tail keeps.
const TailSize = 16 << 10

func (t *Tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > TailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-TailSize:]...)
	}
	return len(b), nil
}

func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
