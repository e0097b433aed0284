package signalling

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quietPair is a connection dialled as the client dials, and the server's
// end of it.
func quietPair(t *testing.T) (*quietConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	conn, err := dialTCP(context.Background(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	server := <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { conn.Close(); server.Close() })
	qc, ok := conn.(*quietConn)
	require.True(t, ok, "dialTCP gave %T", conn)
	return qc, server.(*net.TCPConn)
}

// Megabytes each way through socket buffers far smaller, so that both
// Read and Write meet a full or empty buffer and wait for the poller (the
// server side keeps its default buffers: with small buffers at both ends
// loopback TCP crawls on its persist timer).
func TestQuietConnCarriesEveryByte(t *testing.T) {
	t.Parallel()
	c, s := quietPair(t)
	require.NoError(t, c.SetWriteBuffer(32<<10))
	require.NoError(t, c.SetReadBuffer(32<<10))
	data := make([]byte, 2<<20)
	_, _ = rand.Read(data)

	got := make(chan [32]byte, 1)
	go func() { // the server echoes in small, slow pieces
		h := sha256.New()
		buf := make([]byte, 16<<10)
		for {
			n, err := s.Read(buf)
			h.Write(buf[:n])
			if _, werr := s.Write(buf[:n]); werr != nil || err != nil {
				break
			}
		}
		got <- [32]byte(h.Sum(nil))
	}()
	echoed := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		_, _ = io.CopyBuffer(h, io.LimitReader(c, int64(len(data))), make([]byte, 16<<10))
		echoed <- [32]byte(h.Sum(nil))
	}()
	n, err := c.Write(data)
	require.NoError(t, err)
	assert.Equal(t, len(data), n)
	want := sha256.Sum256(data)
	assert.Equal(t, want, <-echoed, "what came back")
	require.NoError(t, c.CloseWrite())
	assert.Equal(t, want, <-got, "what the server read")
}

func TestQuietConnEndsAsNetConnDoes(t *testing.T) {
	t.Parallel()
	t.Run("EOF", func(t *testing.T) {
		t.Parallel()
		c, s := quietPair(t)
		_, err := s.Write([]byte("last"))
		require.NoError(t, err)
		require.NoError(t, s.Close())
		b, err := io.ReadAll(c)
		require.NoError(t, err)
		assert.Equal(t, "last", string(b))
		n, err := c.Read(make([]byte, 1))
		assert.Equal(t, 0, n)
		assert.Equal(t, io.EOF, err)
	})
	t.Run("read deadline", func(t *testing.T) {
		t.Parallel()
		c, _ := quietPair(t)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := c.Read(make([]byte, 10))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		var oe *net.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "read", oe.Op)
	})
	t.Run("write deadline", func(t *testing.T) {
		t.Parallel()
		c, _ := quietPair(t) // the server never reads
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
		n, err := c.Write(make([]byte, 64<<20))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Positive(t, n, "what went before the buffers filled is counted")
		assert.Less(t, n, 64<<20)
	})
	t.Run("closed while reading", func(t *testing.T) {
		t.Parallel()
		c, _ := quietPair(t)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 10))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond) // usually parked by now; either way the read fails
		require.NoError(t, c.Close())
		assert.ErrorIs(t, <-errc, net.ErrClosed)
	})
	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		c, s := quietPair(t)
		require.NoError(t, s.SetLinger(0))
		require.NoError(t, s.Close())
		_, err := c.Read(make([]byte, 10))
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		var oe *net.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "read", oe.Op)
	})
}

// wss:// runs TLS over the quiet connection.
func TestQuietConnUnderTLS(t *testing.T) {
	t.Parallel()
	c, s := quietPair(t)
	ts := httptest.NewUnstartedServer(nil) // for its certificate
	ts.StartTLS()
	serverCfg := ts.TLS.Clone()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	ts.Close()

	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	go func() { // echo
		ss := tls.Server(s, serverCfg)
		_, _ = io.CopyN(ss, ss, int64(len(data)))
	}()
	tc := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: "example.com"})
	go func() { _, _ = tc.Write(data) }()
	back := make([]byte, len(data))
	_, err := io.ReadFull(tc, back)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, back))
}
