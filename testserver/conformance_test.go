package testserver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver/wsframe"
)

// The WebSocket conformance pass, in the spirit of the Autobahn suite that
// coder/websocket runs, over the cases that matter to RMS: fragmentation,
// control frames, UTF-8 validity, close codes and limits. Frames are
// written byte by byte, so the server sees exactly what a broken or
// hostile client sends.

// clientFrame is one frame as a client sends it: masked, unless unmasked.
func clientFrame(fin bool, rsv, op byte, payload []byte, unmasked bool) []byte {
	return wsframe.Frame(fin, rsv, op, payload, !unmasked)
}

const (
	opCont, opText, opBinary, opClose, opPing = wsframe.Continuation, wsframe.Text, wsframe.Binary, wsframe.Close, wsframe.Ping
)

// wsConformance is one connection: raw frames out, gorilla reading in.
type wsConformance struct {
	t     *testing.T
	ws    *websocket.Conn
	pongs chan string
}

func conform(t *testing.T, s *Server) *wsConformance {
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_conformance", nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	c := &wsConformance{t: t, ws: ws, pongs: make(chan string, 4)}
	ws.SetPongHandler(func(d string) error { c.pongs <- d; return nil })
	_, welcome, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(welcome), `"type":"welcome"`)
	return c
}

func (c *wsConformance) write(frames ...[]byte) {
	for _, f := range frames {
		_, err := c.ws.NetConn().Write(f)
		require.NoError(c.t, err)
	}
}

// next returns the next text message, or the close code that ended the
// connection (0 with a message).
func (c *wsConformance) next() (string, int) {
	_ = c.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, b, err := c.ws.ReadMessage()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return "", ce.Code
	}
	require.NoError(c.t, err)
	return string(b), 0
}

func (c *wsConformance) closedWith(codes ...int) {
	c.t.Helper()
	for {
		_, code := c.next()
		if code != 0 {
			assert.Contains(c.t, codes, code)
			return
		}
	}
}

func TestConformanceServer(t *testing.T) {
	s := start(t, Options{MaxMessageSize: 4096})
	sub := []byte(`{"type":"subscribe","channel":"conf","requestId":"r1"}`)

	t.Run("fragmented text is reassembled", func(t *testing.T) {
		c := conform(t, s)
		c.write(clientFrame(false, 0, opText, sub[:10], false), clientFrame(false, 0, opCont, sub[10:30], false), clientFrame(true, 0, opCont, sub[30:], false))
		msg, _ := c.next()
		assert.Contains(t, msg, `"type":"ack"`)
	})
	t.Run("a ping between fragments is answered and the message kept", func(t *testing.T) {
		c := conform(t, s)
		c.write(clientFrame(false, 0, opText, sub[:20], false), clientFrame(true, 0, opPing, []byte("mid"), false), clientFrame(true, 0, opCont, sub[20:], false))
		msg, _ := c.next()
		assert.Contains(t, msg, `"type":"ack"`)
		select {
		case p := <-c.pongs:
			assert.Equal(t, "mid", p)
		case <-time.After(3 * time.Second):
			t.Fatal("no pong")
		}
	})
	t.Run("a code point split across fragments is valid UTF-8", func(t *testing.T) {
		c := conform(t, s)
		msg := []byte(`{"type":"subscribe","channel":"é-conf","requestId":"r2"}`)
		cut := strings.Index(string(msg), "é") + 1 // inside the two-byte é
		c.write(clientFrame(false, 0, opText, msg[:cut], false), clientFrame(true, 0, opCont, msg[cut:], false))
		got, _ := c.next()
		assert.Contains(t, got, `"type":"ack"`)
	})
	for _, tc := range []struct {
		name   string
		frames [][]byte
		codes  []int
	}{
		{"invalid UTF-8 across fragments", [][]byte{clientFrame(false, 0, opText, []byte(`{"type":"ping","x":"`+"\xed\xa0"), false), clientFrame(true, 0, opCont, []byte("\x80\"}"), false)}, []int{1007}},
		{"a control frame over 125 bytes", [][]byte{clientFrame(true, 0, opPing, make([]byte, 126), false)}, []int{1002}},
		{"a fragmented control frame", [][]byte{clientFrame(false, 0, opPing, []byte("x"), false)}, []int{1002}},
		{"RSV bits without an extension", [][]byte{clientFrame(true, 1, opText, []byte(`{"type":"ping"}`), false)}, []int{1002}},
		{"a reserved opcode", [][]byte{clientFrame(true, 0, 0x3, []byte("x"), false)}, []int{1002}},
		{"a continuation without a start", [][]byte{clientFrame(true, 0, opCont, []byte("x"), false)}, []int{1002}},
		{"a new message inside a fragmented one", [][]byte{clientFrame(false, 0, opText, []byte("{"), false), clientFrame(true, 0, opText, []byte("{}"), false)}, []int{1002}},
		{"an unmasked client frame", [][]byte{clientFrame(true, 0, opText, []byte(`{"type":"ping"}`), true)}, []int{1002}},
		{"a close code that may not be sent (1005)", [][]byte{clientFrame(true, 0, opClose, []byte{0x03, 0xed}, false)}, []int{1002}},
		{"a close reason that is not UTF-8", [][]byte{clientFrame(true, 0, opClose, []byte{0x03, 0xe8, 0xff}, false)}, []int{1002, 1007}},
		{"a message over the cap", [][]byte{clientFrame(true, 0, opText, []byte(`{"type":"ping","x":"`+strings.Repeat("x", 5000)+`"}`), false)}, []int{1009}},
		{"a binary message", [][]byte{clientFrame(true, 0, opBinary, []byte{1, 2, 3}, false)}, []int{1003}},
		{"a close echoed", [][]byte{clientFrame(true, 0, opClose, append([]byte{0x03, 0xe8}, "bye"...), false)}, []int{1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conform(t, s)
			c.write(tc.frames...)
			c.closedWith(tc.codes...)
		})
	}
	t.Run("a ping is answered with its payload", func(t *testing.T) {
		c := conform(t, s)
		c.write(clientFrame(true, 0, opPing, []byte("hello"), false), clientFrame(true, 0, opText, []byte(`{"type":"ping"}`), false))
		msg, _ := c.next() // reading is what runs the pong handler
		assert.Contains(t, msg, `"type":"pong"`)
		select {
		case p := <-c.pongs:
			assert.Equal(t, "hello", p)
		case <-time.After(3 * time.Second):
			t.Fatal("no pong")
		}
	})
}
