package server

import (
	"net"
	"sync"
)

// What a connection can hold on to, and for how long: at most
// MaxConcurrentStreams calls at once (grpc-go keeps a stream, and the answer
// queued on it, until the client has read the answer to its end), answers
// of at most maxAnswerBytes, for at most MaxConnectionAge plus
// MaxConnectionAgeGrace. A client that stops reading therefore pins at most
// MaxConcurrentStreams answers until its connection ages out, and at most
// MaxConnections such clients are served at once. Callers without a valid
// key get only short errors, which HTTP/2 sends whatever the client reads.

// maxAnswerBytes caps one answer. The largest real ones (PlanScopes with
// 1,000 endpoints and 1,000 optional endpoints, all unknown, each with its
// suggestions) are under 2 MB.
const maxAnswerBytes = 4 << 20

// limitListener serves at most cap(slots) connections at once. One more is
// closed as soon as it is accepted (and counted), so its client fails fast
// and can try another instance, rather than wait unseen in the kernel's
// backlog.
type limitListener struct {
	net.Listener
	slots   chan struct{}
	metrics *Metrics
}

func limitConnections(lis net.Listener, limit int, metrics *Metrics) net.Listener {
	return &limitListener{Listener: lis, slots: make(chan struct{}, limit), metrics: metrics}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			l.metrics.connectionsOpen.Inc()
			return &limitedConn{Conn: conn, release: func() {
				l.metrics.connectionsOpen.Dec()
				<-l.slots
			}}, nil
		default:
			l.metrics.connectionsRefused.Inc()
			_ = conn.Close()
		}
	}
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
