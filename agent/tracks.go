package agent

import (
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
)

// EachAudioTrack runs hear, in a goroutine of its own, for every audio
// track p receives from any peer: what an agent listens to. wait returns
// once every hear has returned (they end when their track does: close p).
func EachAudioTrack(p *peer.MeteredPeer, hear func(from *peer.RemotePeer, track *webrtc.TrackRemote)) (wait func()) {
	var wg sync.WaitGroup
	peer.On(p, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			if tr.Track.Kind() != webrtc.RTPCodecTypeAudio {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				hear(remote, tr.Track)
			}()
		})
	})
	return wg.Wait
}
