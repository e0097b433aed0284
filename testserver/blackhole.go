package testserver

import (
	"net"
	"sync"
)

// BlackHole is a TCP listener that accepts connections and never answers
// them: a server whose process is wedged, or a middlebox that swallows
// the upgrade. Clients use it to prove that their calls end when their
// context does, not when a handshake timeout expires.
type BlackHole struct {
	ln net.Listener

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewBlackHole listens on a loopback port.
func NewBlackHole() (*BlackHole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &BlackHole{ln: ln}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

func (b *BlackHole) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
	}
}

// URL is the WebSocket URL of the listener, for Options.URL.
func (b *BlackHole) URL() string { return "ws://" + b.ln.Addr().String() }

// Addr is the listener's address.
func (b *BlackHole) Addr() net.Addr { return b.ln.Addr() }

// Accepted tells how many connections it has accepted.
func (b *BlackHole) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// Close stops listening and drops every connection it holds.
func (b *BlackHole) Close() error {
	err := b.ln.Close()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		_ = c.Close()
	}
	b.conns = nil
	return err
}
