package peer

import (
	"sync"

	"github.com/pion/interceptor"
)

// closeGuardFactory makes interceptors that nothing binds to while or
// after they close. pion's stats interceptor starts a goroutine for each
// stream it is bound to (a WaitGroup Add) and its Close waits for them;
// pion closes a connection from a goroutine of its own (a DTLS handshake
// that failed) while SetRemoteDescription may be binding senders, so an
// Add could race the Wait (the race detector caught it in CI) and leave a
// recorder running after the close.
type closeGuardFactory struct{ interceptor.Factory }

func (f closeGuardFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.Factory.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &closeGuard{Interceptor: i}, nil
}

type closeGuard struct {
	interceptor.Interceptor
	mu     sync.Mutex
	closed bool
}

func (g *closeGuard) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return w
	}
	return g.Interceptor.BindLocalStream(info, w)
}

func (g *closeGuard) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return r
	}
	return g.Interceptor.BindRemoteStream(info, r)
}

func (g *closeGuard) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return g.Interceptor.Close()
}
