package peer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"sync"

	"github.com/pion/webrtc/v4"
)

// StreamMetadata is the application's description of a track or stream
// (conventionally "role" and "label"), sent to every peer before the track.
// Received metadata is untrusted input.
type StreamMetadata map[string]any

func (m StreamMetadata) clone() StreamMetadata { return maps.Clone(m) }

// MediaStream groups local tracks under one stream id; receivers see the
// same id.
type MediaStream struct {
	id     string
	mu     sync.Mutex
	tracks []webrtc.TrackLocal
}

// NewMediaStream returns a stream with a random id holding tracks. Nil
// tracks are skipped, nil pointers inside the interface too, so that
// NewMediaStream(player.Video, player.Audio) holds just the media a file
// has.
func NewMediaStream(tracks ...webrtc.TrackLocal) *MediaStream {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return NewMediaStreamWithID(hex.EncodeToString(b[:]), tracks...)
}

// ID is the stream id.
func (s *MediaStream) ID() string { return s.id }

// Tracks returns a copy of the stream's tracks.
func (s *MediaStream) Tracks() []webrtc.TrackLocal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webrtc.TrackLocal(nil), s.tracks...)
}

// AddTrack adds a track to the stream; a nil track is skipped.
func (s *MediaStream) AddTrack(t webrtc.TrackLocal) {
	if isNilTrack(t) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks = append(s.tracks, t)
}

// RemoteStream is a stream received from a RemotePeer: the tracks that share
// one msid stream id.
type RemoteStream struct {
	id     string
	mu     sync.Mutex
	tracks []*webrtc.TrackRemote
}

// ID is the stream id the sender used.
func (s *RemoteStream) ID() string { return s.id }

// Tracks returns the stream's live tracks.
func (s *RemoteStream) Tracks() []*webrtc.TrackRemote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*webrtc.TrackRemote(nil), s.tracks...)
}

// metaCache is a RemotePeer's track-metadata cache: at most
// MaxTrackMetadataEntries, the oldest inserted evicted first, an update in
// place not counting as growth.
type metaCache struct {
	order   []string
	bags    map[string]json.RawMessage
	matched map[string]bool // entries a received track took, on this connection
}

// lookup is the metadata of a received track. A track the remote sent on
// an m-line our offer made (reused) may carry another id than the one its
// metadata names: a browser that adds a track reuses a transceiver made
// for one of our m-lines, and announces it under that transceiver's id.
// Such a track takes the oldest entry no received track has taken: the JS
// SDK sends a track's metadata just before adding the track, so entries
// and reused m-lines come in the same order.
func (c *metaCache) lookup(trackID string, reused bool) StreamMetadata {
	id := trackID
	if _, ok := c.bags[id]; !ok && reused {
		id = ""
		for _, o := range c.order {
			if !c.matched[o] {
				id = o
				break
			}
		}
	}
	if _, ok := c.bags[id]; !ok {
		return nil
	}
	if c.matched == nil {
		c.matched = map[string]bool{}
	}
	c.matched[id] = true
	return c.get(id)
}

// newConnection forgets which entries were taken: a new connection
// receives every track again.
func (c *metaCache) newConnection() { c.matched = nil }

func (c *metaCache) set(trackID string, meta json.RawMessage) {
	if c.bags == nil {
		c.bags = map[string]json.RawMessage{}
	}
	if meta == nil {
		if _, ok := c.bags[trackID]; ok {
			delete(c.bags, trackID)
			delete(c.matched, trackID)
			for i, id := range c.order {
				if id == trackID {
					c.order = append(c.order[:i:i], c.order[i+1:]...)
					break
				}
			}
		}
		return
	}
	if _, ok := c.bags[trackID]; !ok {
		if len(c.order) >= MaxTrackMetadataEntries {
			delete(c.bags, c.order[0])
			delete(c.matched, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, trackID)
	}
	c.bags[trackID] = meta
}

func (c *metaCache) get(trackID string) StreamMetadata {
	raw, ok := c.bags[trackID]
	if !ok {
		return nil
	}
	var m StreamMetadata
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// NewMediaStreamWithID returns a stream with a chosen id; nil tracks are
// skipped as in NewMediaStream.
func NewMediaStreamWithID(id string, tracks ...webrtc.TrackLocal) *MediaStream {
	s := &MediaStream{id: id}
	for _, t := range tracks {
		s.AddTrack(t)
	}
	return s
}
