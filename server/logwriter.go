package server

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Log buffering: one write(2) per call line costs more server CPU than the
// catalog lookup the line reports, so lines are gathered in a buffer that
// is flushed when full, every logFlushInterval, and on Close.
const (
	logBufferBytes   = 64 << 10
	logFlushInterval = 100 * time.Millisecond
)

// BufferedLogWriter is an io.WriteCloser for log lines: writes go to a
// buffer (each Write whole, so lines never interleave) that a background
// goroutine flushes every 100 ms; Close flushes what is left and stops it.
type BufferedLogWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBufferedLogWriter starts buffering writes to w.
func NewBufferedLogWriter(w io.Writer) *BufferedLogWriter {
	b := &BufferedLogWriter{
		buf:  bufio.NewWriterSize(w, logBufferBytes),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.flushLoop()
	return b
}

// Write buffers p; a line longer than the buffer goes straight through.
func (b *BufferedLogWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Close flushes the buffer and stops the background flushes. Later writes
// still work and go straight through a fresh flush on each call to Close.
func (b *BufferedLogWriter) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
		<-b.done
	}
	return b.flush()
}

func (b *BufferedLogWriter) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Flush()
}

func (b *BufferedLogWriter) flushLoop() {
	defer close(b.done)
	ticker := time.NewTicker(logFlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			// A failed flush is retried on the next tick; there is nowhere
			// else to report a log sink's failure.
			_ = b.flush()
		case <-b.stop:
			return
		}
	}
}
