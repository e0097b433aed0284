package main

import (
	"context"
	"fmt"
	"time"

	"github.com/metered-ca/realtime-go/peer"
)

// showStatus prints head() and a line per peer every second, live on a
// terminal, until ctx ends or done (which may be nil) closes.
func showStatus(ctx context.Context, e *env, p *peer.MeteredPeer, done <-chan struct{}, head func() string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pr := newProgress(e)
	defer pr.done()
	var net netStatus
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
			pr.showPeers(head(), net.lines(ctx, p))
		}
	}
}

// netStatus describes each remote peer's connection in a line: the path,
// the round trip, the rates sent and received since the last call, the
// send-side estimate and the loss the peer reports.
type netStatus struct {
	prev map[string]netSample
}

type netSample struct {
	at      time.Time
	out, in uint64
}

func (n *netStatus) lines(ctx context.Context, p *peer.MeteredPeer) []string {
	if n.prev == nil {
		n.prev = map[string]netSample{}
	}
	var out []string
	for _, rp := range p.RemotePeers() {
		st, err := rp.Stats(ctx)
		if err != nil {
			continue
		}
		out = append(out, n.line(rp.ID(), st))
	}
	return out
}

func (n *netStatus) line(id string, st peer.Stats) string {
	var cur netSample
	cur.at = st.Time
	var lost int64
	var sent uint64
	for _, o := range st.Outbound {
		cur.out += o.BytesSent
		lost += o.PacketsLost
		sent += o.PacketsSent
	}
	for _, in := range st.Inbound {
		cur.in += in.BytesReceived
	}
	prev, seen := n.prev[id]
	n.prev[id] = cur
	path, rtt := "connecting", "-"
	if st.Path != nil {
		path = fmt.Sprintf("%s/%s", st.Path.Local.Type, st.Path.Local.Protocol)
		if st.Path.Remote.Type != st.Path.Local.Type {
			path += "↔" + st.Path.Remote.Type.String()
		}
		rtt = st.Path.RTT.Round(time.Millisecond).String()
	}
	rates := "out - in -"
	// Counters that went down belong to a new connection (a reconnect):
	// no rate until the next sample.
	if seen && cur.at.After(prev.at) && cur.out >= prev.out && cur.in >= prev.in {
		sec := cur.at.Sub(prev.at).Seconds()
		rates = fmt.Sprintf("out %s in %s", bitrate(float64(cur.out-prev.out)*8/sec), bitrate(float64(cur.in-prev.in)*8/sec))
	}
	loss := "-"
	if sent > 0 {
		loss = fmt.Sprintf("%.1f%%", 100*float64(max(lost, 0))/float64(sent))
	}
	return fmt.Sprintf("%s: %s rtt %s %s est %s loss %s", id, path, rtt, rates, bitrate(float64(st.AvailableOutgoingBitrate)), loss)
}

func bitrate(bps float64) string {
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.1fMb/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.0fkb/s", bps/1e3)
	}
	return fmt.Sprintf("%.0fb/s", bps)
}
