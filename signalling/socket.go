package signalling

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/metered-ca/realtime-go/protocol"
)

// socket is one WebSocket connection: a reader goroutine owned by the
// Client, a writer goroutine draining an unbounded queue (so, like a
// browser's WebSocket.send, sending never blocks the caller), and the two
// liveness timers.
type socket struct {
	ws *websocket.Conn

	mu        sync.Mutex
	queue     [][]byte
	wake      chan struct{}
	dead      bool               // writer stopped; nothing more is accepted
	closing   bool               // a close was started; nothing more is accepted
	closeSent bool               // the writer has taken the close frame
	code      protocol.CloseCode // the code we closed with
	reason    string

	readerDone chan struct{}
	scratch    []byte // the reader's, reused for every frame

	// Guarded by Client.mu.
	lastInbound time.Time
	lastPing    time.Time
	inactivity  *time.Timer
	heartbeat   *time.Timer
}

var errSocketClosed = errors.New("signalling: socket closed")

func newSocket(ws *websocket.Conn) *socket {
	return &socket{ws: ws, wake: make(chan struct{}, 1), readerDone: make(chan struct{})}
}

// maxScratch bounds the read buffer kept between frames; a larger frame
// gets a buffer of its own.
const maxScratch = 64 << 10

// read returns the next message: read into a buffer kept from frame to
// frame, then copied once at its size (what it is parsed into keeps
// slices of it), where ReadMessage would grow a fresh buffer four times
// for a 1 KiB frame.
func (s *socket) read() (int, []byte, error) {
	typ, r, err := s.ws.NextReader()
	if err != nil {
		return typ, nil, err
	}
	buf := s.scratch[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return typ, nil, err
		}
	}
	if cap(buf) <= maxScratch {
		s.scratch = buf
	}
	return typ, bytes.Clone(buf), nil
}

// send queues one text frame.
func (s *socket) send(frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead || s.closing {
		return errSocketClosed
	}
	s.queue = append(s.queue, frame)
	s.signal()
	return nil
}

// writeLoop is the only goroutine that writes to the connection: queued
// frames in order, then the close frame once close was called, so that no
// caller ever waits on the network (Client.Close holds no lock while a slow
// peer drains).
func (s *socket) writeLoop() {
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.dead && (!s.closing || s.closeSent) {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.dead {
			s.queue = nil
			s.mu.Unlock()
			return
		}
		batch := s.queue
		s.queue = nil
		sendClose := s.closing && !s.closeSent
		s.closeSent = s.closeSent || sendClose
		code, reason := s.code, s.reason
		s.mu.Unlock()
		for _, frame := range batch {
			if err := s.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				s.kill()
				return
			}
		}
		if sendClose {
			msg := websocket.FormatCloseMessage(int(code), reason)
			_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeFlushTimeout))
		}
	}
}

// close starts the closing handshake with code and reason without waiting:
// the writer sends the close frame after what is already queued. The reader
// ends when the server answers, or after closeFlushTimeout.
func (s *socket) close(code protocol.CloseCode, reason string) {
	s.mu.Lock()
	if s.closing || s.dead {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.code, s.reason = code, reason
	s.mu.Unlock()
	s.signal()
	_ = s.ws.SetReadDeadline(time.Now().Add(closeFlushTimeout))
}

func (s *socket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// kill tears the connection down without a handshake and stops the writer.
func (s *socket) kill() {
	s.mu.Lock()
	s.dead = true
	s.mu.Unlock()
	s.signal()
	_ = s.ws.Close()
}

// closeStatus turns the reader's final error into the close code and reason
// a browser would report: the server's close frame when there was one, the
// code we sent when we started a close the server never answered, else 1006.
func (s *socket) closeStatus(err error) (protocol.CloseCode, string) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closing && protocol.CloseCode(ce.Code) == s.code && ce.Text == "" {
			return s.code, s.reason // the server echoed our code without the reason
		}
		return protocol.CloseCode(ce.Code), ce.Text
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return protocol.CloseMessageTooBig, "frame exceeded client cap"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return s.code, s.reason
	}
	return protocol.CloseAbnormal, ""
}

func (s *socket) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *socket) stopTimers() {
	if s.inactivity != nil {
		s.inactivity.Stop()
	}
	if s.heartbeat != nil {
		s.heartbeat.Stop()
	}
}
