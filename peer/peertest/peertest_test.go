package peertest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Two peers meet on the local server, one's Opus track reaches the other,
// and a chaos tally over a clean link counts nothing lost.
func TestScaffolding(t *testing.T) {
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	joined := peertest.Watch[peer.PeerJoined](bob)
	data := peertest.Watch[peer.Data](bob)
	if err := alice.AddTrack(peertest.OpusTrack(t, "mic", "s"), nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx := peertest.Context(t, 20*time.Second)
	if err := bob.Join(ctx, "pt"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Join(ctx, "pt"); err != nil {
		t.Fatal(err)
	}
	if rp := joined.Next(t, nil).Peer; rp.ID() != "alice" || string(rp.Metadata()) != `{"name":"alice"}` {
		t.Fatalf("joined: %s %s", rp.ID(), rp.Metadata())
	}
	if rps := peertest.Connected(t, bob, 1); rps[0].ID() != "alice" {
		t.Fatalf("connected: %s", rps[0].ID())
	}
	if extra := joined.Pending(); len(extra) != 0 {
		t.Fatalf("a second PeerJoined: %v", extra)
	}
	var tally peertest.Tally
	peer.On(bob, func(d peer.Data) {
		var n int
		if d.Decode(&n) == nil {
			tally.Add(n)
		}
	})
	s := peertest.StartSender(ctx, time.Millisecond, func(ctx context.Context, n int) error { return alice.SendTo(ctx, "bob", n) })
	time.Sleep(200 * time.Millisecond)
	acked, failed := s.Stop()
	if len(acked) == 0 || failed != 0 {
		t.Fatalf("acked %d, failed %d", len(acked), failed)
	}
	data.Next(t, nil)
	time.Sleep(200 * time.Millisecond)
	if v, d := tally.Compare(acked); v != 0 || d != 0 {
		t.Fatalf("vanished %d, duplicated %d", v, d)
	}
	if got := peertest.Percentile([]time.Duration{3, 1, 2, 4}, 50); got != 3 {
		t.Fatalf("p50 = %v", got)
	}
}
