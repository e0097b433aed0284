package signalling

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver"
)

// Every error type is used as a pointer: a value of the type must not
// satisfy error, or errors.As(err, new(*T)) could silently never match.
func TestErrorTypesArePointers(t *testing.T) {
	errType := reflect.TypeFor[error]()
	for _, typ := range []reflect.Type{
		reflect.TypeFor[ConnectError](), reflect.TypeFor[WelcomeTimeoutError](),
		reflect.TypeFor[ServerError](), reflect.TypeFor[NotConnectedError](),
		reflect.TypeFor[DisconnectedError](), reflect.TypeFor[AckTimeoutError](),
		reflect.TypeFor[OversizedError](), reflect.TypeFor[TokenProviderError](),
		reflect.TypeFor[StateError](),
	} {
		assert.False(t, typ.Implements(errType), "%s: the value type must not be an error", typ)
		assert.True(t, reflect.PointerTo(typ).Implements(errType), "*%s must be an error", typ)
	}
}

// Each error a caller can receive matches errors.As with its pointer type.
func TestErrorsAsForEveryReturnedError(t *testing.T) {
	srv := newServer(t, testserver.Options{MaxMessageSize: 200})
	ctx := ctx5(t)

	c := newClient(t, srv, Options{})
	var nc *NotConnectedError
	require.ErrorAs(t, c.Publish(ctx, "room", 1), &nc)
	connect(t, c)
	var se *StateError
	require.ErrorAs(t, c.Connect(ctx), &se)
	assert.Equal(t, "Connect", se.Method)
	var srvErr *ServerError
	require.ErrorAs(t, c.Send(ctx, "nobody", "hi"), &srvErr)
	assert.Equal(t, protocol.CodePeerNotFound, srvErr.Code)
	var oe *OversizedError
	require.ErrorAs(t, c.Publish(ctx, "room", strings.Repeat("x", 300)), &oe)
	var ve *protocol.ValidationError
	require.ErrorAs(t, c.Publish(ctx, "room", json.RawMessage(`"\xff"`)), &ve)

	failing := fast(newClient(t, srv, Options{TokenProvider: func(context.Context) (string, error) {
		return "", errors.New("vault unreachable")
	}}))
	var tpe *TokenProviderError
	require.ErrorAs(t, failing.Connect(ctx), &tpe)
	assert.Contains(t, tpe.Error(), "vault unreachable")

	closing := newClient(t, srv, Options{})
	go func() { _ = closing.Close() }()
	if err := closing.Connect(ctx); err != nil && !errors.Is(err, ErrClosed) {
		var ce *ConnectError
		require.ErrorAs(t, err, &ce, "Connect interrupted by Close: ErrClosed or a close before welcome")
	}
}

// A socket that never opens names its real cause, not "closed before
// welcome (1006)".
func TestConnectRefusedNamesTheCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	c, err := New(Options{URL: "ws://" + addr, APIKey: "pk_secret_key_value"})
	require.NoError(t, err)
	defer c.Close()
	err = c.Connect(ctx5(t))
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, protocol.CloseAbnormal, ce.CloseCode)
	require.Error(t, ce.Err)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "the dial error is kept: %v", err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotContains(t, err.Error(), "before welcome")
	assert.NotContains(t, err.Error(), "pk_secret_key_value")
}

// The wrong scheme (wss:// to a plain server) names the TLS failure.
func TestConnectWrongSchemeNamesTheCause(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c, err := New(Options{URL: strings.Replace(srv.URL(), "ws://", "wss://", 1), APIKey: "pk_x"})
	require.NoError(t, err)
	defer c.Close()
	err = c.Connect(ctx5(t))
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	require.Error(t, ce.Err, "the cause is kept")
	assert.Contains(t, err.Error(), "tls")
	assert.NotContains(t, err.Error(), "before welcome")
	assert.NotContains(t, err.Error(), "pk_x")
}

func TestStateStringNeverPanics(t *testing.T) {
	assert.Equal(t, "reconnecting", StateReconnecting.String())
	assert.Equal(t, "State(42)", State(42).String())
	assert.Equal(t, "State(-1)", State(-1).String())
}
