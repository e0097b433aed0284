package media

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// netLab is two peers on pion's virtual network, in process: A (the
// sender) at 10.9.1.2 and B at 10.9.1.3. What reaches each host passes a
// shaped link of its own: a loss filter, a delay with jitter and a
// token-bucket rate cap with a drop-tail queue, each changeable while the
// call runs. Blocked addresses drop everything to and from them.
type netLab struct {
	a, b     *peer.MeteredPeer
	toA, toB *link
	// offered counts the bytes each host sent into the network (before any
	// cap): what the sender really sends.
	offered map[string]*atomic.Int64
	blocked sync.Map // IP string → struct{}
	// onlySSRC, when set, is the one RTP stream that gets through: the
	// others (retransmissions on RTX, probes) are dropped.
	onlySSRC atomic.Uint32
	// lossySSRC, when set, loses every lossEvery-th packet of that RTP
	// stream (repairs travel on its RTX stream, untouched); lost counts
	// them.
	lossySSRC       atomic.Uint32
	lossEvery       int64
	lossySeen, lost atomic.Int64
}

// link is what reaches one host.
type link struct {
	tbf    *vnet.TBFQueue
	queue  *vnet.Queue
	delay  *vnet.DelayFilter
	loss   *vnet.LossFilter
	jitter atomic.Int64 // ± this much around base, re-drawn every 20 ms
	base   atomic.Int64
}

const (
	labA, labB = "10.9.1.2", "10.9.1.3"
	// labA2 is a second address of A, blocked until a test moves A to it.
	labA2    = "10.9.1.12"
	noCap    = 1 << 30 // bits per second
	capQueue = 24_000  // bytes a capped link holds: 640 ms at 300 kb/s
	// A capped link's bucket holds two packets: a short probe above the
	// cap must queue, not ride a large bucket over it.
	capBurst  = 3_000
	openBurst = 64_000
)

// setCap caps the link at bps (noCap lifts it).
func (l *link) setCap(bps int) {
	burst := capBurst
	if bps >= noCap {
		burst = openBurst
	}
	l.tbf.SetBurst(burst)
	l.tbf.SetRate(bps)
}

// setDelay sets the one-way delay to base ± jitter (uniform).
func (l *link) setDelay(base, jitter time.Duration) {
	l.base.Store(int64(base))
	l.jitter.Store(int64(jitter))
	l.delay.SetDelay(base)
}

func (l *link) setLoss(percent int) error { return l.loss.SetLossRate(percent, true) }

func newNetLab(t *testing.T, optsA, optsB peer.Options) *netLab {
	t.Helper()
	lab := &netLab{offered: map[string]*atomic.Int64{labA: {}, labA2: {}, labB: {}}}
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.9.1.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	require.NoError(t, err)
	wan.AddChunkFilter(func(c vnet.Chunk) bool {
		src, dst := hostOf(c.SourceAddr()), hostOf(c.DestinationAddr())
		if _, cut := lab.blocked.Load(src); cut {
			return false
		}
		if _, cut := lab.blocked.Load(dst); cut {
			return false
		}
		if only := lab.onlySSRC.Load(); only != 0 {
			if ssrc, ok := rtpSSRC(c.UserData()); ok && ssrc != only {
				return false
			}
		}
		if n := lab.offered[src]; n != nil {
			n.Add(int64(len(c.UserData())))
		}
		if lossy := lab.lossySSRC.Load(); lossy != 0 {
			if ssrc, ok := rtpSSRC(c.UserData()); ok && ssrc == lossy && lab.lossySeen.Add(1)%lab.lossEvery == 0 {
				lab.lost.Add(1)
				return false
			}
		}
		return true
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	host := func(ips ...string) (*vnet.Net, *link) {
		nw, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: ips})
		require.NoError(t, err)
		l := &link{tbf: vnet.NewTBFQueue(noCap, openBurst, capQueue)}
		l.queue, err = vnet.NewQueue(nw, l.tbf)
		require.NoError(t, err)
		l.delay, err = vnet.NewDelayFilter(l.queue)
		require.NoError(t, err)
		l.loss, err = vnet.NewLossFilter(l.delay, 0, vnet.WithLossSeed(int64(len(ips[0]))))
		require.NoError(t, err)
		require.NoError(t, wan.AddNet(l.loss))
		wg.Add(1)
		go func() { // jitter: a fresh one-way delay every 20 ms
			defer wg.Done()
			rng := rand.New(rand.NewSource(7))
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if j := l.jitter.Load(); j > 0 {
					l.delay.SetDelay(time.Duration(l.base.Load() - j + rng.Int63n(2*j+1)))
				}
			}
		}()
		return nw, l
	}
	netA, toA := host(labA, labA2)
	netB, toB := host(labB)
	lab.toA, lab.toB = toA, toB
	lab.blocked.Store(labA2, struct{}{})
	require.NoError(t, wan.Start())
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		_ = wan.Stop()
		// pion's DelayFilter blocks the router's goroutine until its own
		// loop takes each chunk, and Stop does not wait for that goroutine:
		// closing the filter at once can strand it (goleak saw it). Let the
		// last chunk through first.
		time.Sleep(200 * time.Millisecond)
		for _, l := range []*link{toA, toB} {
			_ = l.delay.Close()
			_ = l.queue.Close()
		}
	})
	srv := peertest.NewServer(t)
	mk := func(id string, nw *vnet.Net, o peer.Options) *peer.MeteredPeer {
		var se webrtc.SettingEngine
		se.SetNet(nw)
		se.SetICETimeouts(2*time.Second, 4*time.Second, 250*time.Millisecond)
		o.SettingEngine = &se
		if o.Logger == nil && os.Getenv("NETWORK_DEBUG") != "" { // the peers' debug log on stderr
			o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4})).With("peer", id) // pion's debug lines too
		}
		return peertest.NewPeer(t, srv, id, o)
	}
	lab.a, lab.b = mk("a", netA, optsA), mk("b", netB, optsB)
	return lab
}

func hostOf(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	if tc, ok := a.(*net.TCPAddr); ok {
		return tc.IP.String()
	}
	return ""
}

// moveA takes A's first address off the network and puts its second one on:
// a phone leaving Wi-Fi for its mobile link.
func (lab *netLab) moveA() {
	lab.blocked.Store(labA, struct{}{})
	lab.blocked.Delete(labA2)
}

// keyframeAsksByB is how many keyframes B has asked A for (PLIs and FIRs
// of its video): a picture it gave up.
func (lab *netLab) keyframeAsksByB(t *testing.T, ctx context.Context) uint32 {
	t.Helper()
	st, err := lab.b.RemotePeers()[0].Stats(ctx)
	require.NoError(t, err)
	for _, in := range st.Inbound {
		if in.Kind == "video" {
			return in.PLIs + in.FIRs
		}
	}
	t.Fatal("B receives no video")
	return 0
}

// sentByA is what A has sent into the network, from either address.
func (lab *netLab) sentByA() int64 { return lab.offered[labA].Load() + lab.offered[labA2].Load() }

// rtpSSRC reads the SSRC of an RTP packet (SRTP leaves the header in the
// clear); ok is false for anything else on the wire: STUN, DTLS, RTCP
// (RFC 5761: second byte 192-223).
func rtpSSRC(b []byte) (uint32, bool) {
	if len(b) < 12 || b[0]>>6 != 2 || b[1] >= 192 && b[1] <= 223 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[8:12]), true
}
