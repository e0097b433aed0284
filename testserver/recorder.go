package testserver

import (
	"sync"
	"time"
)

// RecordedFrame is one frame the server received ("in") or sent ("out").
type RecordedFrame struct {
	ConnID uint64
	PeerID string
	Dir    string
	At     time.Time
	Data   string
}

type recorder struct {
	on     bool
	mu     sync.Mutex
	frames []RecordedFrame
	urls   []string
}

func (r *recorder) handshake(uri string) {
	if !r.on {
		return
	}
	r.mu.Lock()
	r.urls = append(r.urls, uri)
	r.mu.Unlock()
}

func (r *recorder) frame(c *conn, dir string, data []byte) {
	if !r.on {
		return
	}
	r.mu.Lock()
	r.frames = append(r.frames, RecordedFrame{ConnID: c.cid, PeerID: c.id.peerID, Dir: dir, At: time.Now(), Data: string(data)})
	r.mu.Unlock()
}

// Frames returns a copy of every frame recorded so far (Options.Record).
func (s *Server) Frames() []RecordedFrame {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]RecordedFrame(nil), s.rec.frames...)
}

// HandshakeURLs returns the request URI (path and query, credentials
// included) of every upgrade attempt recorded so far.
func (s *Server) HandshakeURLs() []string {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]string(nil), s.rec.urls...)
}

// ResetRecording forgets the recorded frames and URLs.
func (s *Server) ResetRecording() {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.frames, s.rec.urls = nil, nil
}
