package signalling

import (
	"context"
	"net"
	"sync"
	"time"
)

// gorilla/websocket turns a dial's context into a deadline on the
// connection and nothing more: a cancelled context leaves the handshake
// waiting for a server that accepted the TCP connection and never
// answers, until the handshake timeout. A handshakeGuard carried by the
// dial's context ends that wait: when the context ends before the
// handshake does, the connection's deadline is moved to the past, which
// fails every read and write on it at once.
type handshakeGuard struct {
	ctx context.Context

	mu    sync.Mutex
	stops []func() bool
}

type guardKey struct{}

// guardHandshake returns a context for a dial whose handshake ends when
// ctx does, and the release to call once the dial has returned (the
// connection then belongs to the client, whatever becomes of ctx).
func guardHandshake(ctx context.Context) (context.Context, func()) {
	g := &handshakeGuard{ctx: ctx}
	return context.WithValue(ctx, guardKey{}, g), g.release
}

func (g *handshakeGuard) watch(conn net.Conn) {
	stop := context.AfterFunc(g.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	g.mu.Lock()
	g.stops = append(g.stops, stop)
	g.mu.Unlock()
}

func (g *handshakeGuard) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, stop := range g.stops {
		stop()
	}
	g.stops = nil
}

// dialTCP is the dialer's NetDialContext: a TCP dial whose connection
// reads and writes quietly (quietconn_linux.go) and which the dial's
// handshakeGuard, if any, watches.
func dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn = quiet(conn)
	if g, ok := ctx.Value(guardKey{}).(*handshakeGuard); ok {
		g.watch(conn)
	}
	return conn, nil
}
