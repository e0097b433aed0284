package signalling

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver/wsframe"
)

// The client's half of the WebSocket conformance pass (the server's is in
// testserver): a server that writes frames byte by byte, as a broken or
// hostile one would, and what the SDK does with them.

// serverFrame is one frame as a server sends it: unmasked, unless masked.
var serverFrame = wsframe.Frame

const welcomeFrame = `{"type":"welcome","peerId":"conf","expiresAt":null,"serverTime":1,"maxMessageSize":65536}`

// craftedServer upgrades one connection and hands it to script; what the
// client sends back is readable there with gorilla.
func craftedServer(t *testing.T, script func(ws *websocket.Conn)) string {
	up := websocket.Upgrader{}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		script(ws)
		<-done
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return "ws://" + strings.TrimPrefix(srv.URL, "http://")
}

// closeCodeFromClient reads what the client sends until its close frame.
func closeCodeFromClient(ws *websocket.Conn) int {
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			return -1
		}
	}
}

func TestConformanceClient(t *testing.T) {
	t.Run("a fragmented welcome is reassembled", func(t *testing.T) {
		url := craftedServer(t, func(ws *websocket.Conn) {
			raw := ws.NetConn()
			w := []byte(welcomeFrame)
			_, _ = raw.Write(serverFrame(false, 0, 0x1, w[:20], false))
			_, _ = raw.Write(serverFrame(true, 0, 0x9, []byte("keepalive"), false)) // a ping in between
			_, _ = raw.Write(serverFrame(true, 0, 0x0, w[20:], false))
			closeCodeFromClient(ws)
		})
		c, err := New(Options{URL: url, APIKey: "pk_x", Reconnect: ReconnectOptions{Disabled: true}})
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Connect(ctx5(t)))
		assert.Equal(t, "conf", c.PeerID())
	})
	t.Run("a ping is answered with its payload", func(t *testing.T) {
		pong := make(chan string, 1)
		url := craftedServer(t, func(ws *websocket.Conn) {
			ws.SetPongHandler(func(d string) error { pong <- d; return nil })
			_ = ws.WriteMessage(websocket.TextMessage, []byte(welcomeFrame))
			_, _ = ws.NetConn().Write(serverFrame(true, 0, 0x9, []byte("are you there"), false))
			closeCodeFromClient(ws) // reading runs the pong handler
		})
		c, err := New(Options{URL: url, APIKey: "pk_x", Reconnect: ReconnectOptions{Disabled: true}})
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Connect(ctx5(t)))
		select {
		case p := <-pong:
			assert.Equal(t, "are you there", p)
		case <-time.After(5 * time.Second):
			t.Fatal("no pong")
		}
	})
	// want is the close frame the client sends; event, the code its
	// Disconnected event reports: 1006 where the WebSocket layer failed the
	// connection, as a browser reports it to the JS SDK.
	for _, tc := range []struct {
		name  string
		frame []byte
		want  protocol.CloseCode
		event protocol.CloseCode
	}{
		{"a text frame that is not UTF-8", serverFrame(true, 0, 0x1, []byte("{\"type\":\"pong\",\"x\":\"\xff\"}"), false), protocol.CloseInvalidPayload, protocol.CloseInvalidPayload},
		{"a masked server frame", serverFrame(true, 0, 0x1, []byte(`{"type":"pong"}`), true), 1002, protocol.CloseAbnormal},
		{"RSV bits without an extension", serverFrame(true, 2, 0x1, []byte(`{"type":"pong"}`), false), 1002, protocol.CloseAbnormal},
		{"a control frame over 125 bytes", serverFrame(true, 0, 0x9, make([]byte, 200), false), 1002, protocol.CloseAbnormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan int, 1)
			url := craftedServer(t, func(ws *websocket.Conn) {
				_ = ws.WriteMessage(websocket.TextMessage, []byte(welcomeFrame))
				_, _ = ws.NetConn().Write(tc.frame)
				got <- closeCodeFromClient(ws)
			})
			c, err := New(Options{URL: url, APIKey: "pk_x", Reconnect: ReconnectOptions{Disabled: true}})
			require.NoError(t, err)
			defer c.Close()
			discs := record[Disconnected](c)
			require.NoError(t, c.Connect(ctx5(t)))
			select {
			case code := <-got:
				assert.Equal(t, int(tc.want), code, "the close frame the client sent")
			case <-time.After(5 * time.Second):
				t.Fatal("the client did not fail the connection")
			}
			assert.Equal(t, tc.event, discs.next(t).Code)
		})
	}
	t.Run("the server's close code is reported", func(t *testing.T) {
		url := craftedServer(t, func(ws *websocket.Conn) {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(welcomeFrame))
			_, _ = ws.NetConn().Write(serverFrame(true, 0, 0x8, append([]byte{0x0f, 0xa2}, "policy"...), false)) // 4002
			closeCodeFromClient(ws)
		})
		c, err := New(Options{URL: url, APIKey: "pk_x", Reconnect: ReconnectOptions{Disabled: true}})
		require.NoError(t, err)
		defer c.Close()
		discs := record[Disconnected](c)
		require.NoError(t, c.Connect(ctx5(t)))
		d := discs.next(t)
		assert.Equal(t, protocol.CloseTokenExpired, d.Code)
		assert.Equal(t, "policy", d.Reason)
	})
}
