package signalling

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/metered-ca/realtime-go/protocol"
)

// floodServer is a bare WebSocket server that greets like RMS and then
// writes n copies of one message frame whenever asked, so that a
// signalling.Client and a bare gorilla/websocket reader get the same bytes
// from the same code.
type floodServer struct {
	*httptest.Server
	send chan int
}

func newFloodServer(b *testing.B, frame []byte) *floodServer {
	fs := &floodServer{send: make(chan int)}
	welcome := protocol.MarshalServer(&protocol.Welcome{PeerID: "bench", ServerTime: 1, MaxMessageSize: 65536})
	up := websocket.Upgrader{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		go func() { // drain what the client writes (pings, the close)
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, frame)
		if ws.WriteMessage(websocket.TextMessage, welcome) != nil {
			return
		}
		for n := range fs.send {
			for range n {
				if ws.WritePreparedMessage(pm) != nil {
					return
				}
			}
		}
	}))
	b.Cleanup(func() { close(fs.send); fs.Close() })
	return fs
}

func (fs *floodServer) url() string { return "ws" + strings.TrimPrefix(fs.URL, "http") }

// benchFrame is a 1 KiB channel message as rms-local sends it.
func benchFrame() []byte {
	return protocol.MarshalServer(&protocol.Message{Channel: "room", From: "peer-1", Data: []byte(`{"seq":1,"pad":"` + strings.Repeat("x", 1000) + `"}`)})
}

// BenchmarkReceive: allocations and time per received 1 KiB message, for a
// signalling.Client (read, checked, parsed, delivered to an On handler) and,
// as the baseline, a bare gorilla/websocket ReadMessage loop on the same
// server. make bench reports the ratio.
func BenchmarkReceive(b *testing.B) {
	frame := benchFrame()
	b.Run("client", func(b *testing.B) {
		fs := newFloodServer(b, frame)
		c, err := New(Options{URL: fs.url(), APIKey: "pk_bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		got := make(chan struct{}, 1024)
		On(c, func(m Message) { got <- struct{}{} })
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		b.ResetTimer()
		fs.send <- b.N
		for range b.N {
			<-got
		}
	})
	b.Run("gorilla", func(b *testing.B) {
		fs := newFloodServer(b, frame)
		ws, _, err := websocket.DefaultDialer.Dial(fs.url(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // the welcome
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		b.ResetTimer()
		fs.send <- b.N
		for range b.N {
			if _, _, err := ws.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
