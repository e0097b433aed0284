package probe

import (
	"time"

	"github.com/pion/rtcp"
)

// referenceUnit is the unit of transport-cc feedback's reference time.
const referenceUnit = 64 * time.Millisecond

// Arrivals walks transport-wide congestion-control feedback: fn is called
// for every packet status it reports, with the packet's transport sequence
// number and, for a packet that arrived, its arrival time on the
// receiver's clock. Statuses past the count the feedback declares, and
// deltas it lacks, end the walk: a malformed report is read as far as it
// makes sense.
func Arrivals(fb *rtcp.TransportLayerCC, fn func(seq uint16, arrived time.Duration, received bool)) {
	at := time.Duration(fb.ReferenceTime&0xffffff) * referenceUnit
	seq, left, deltas := fb.BaseSequenceNumber, int(fb.PacketStatusCount), fb.RecvDeltas
	status := func(symbol uint16) bool {
		switch symbol {
		case rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketReceivedLargeDelta:
			if len(deltas) == 0 || deltas[0] == nil {
				return false
			}
			at += time.Duration(deltas[0].Delta) * time.Microsecond
			deltas = deltas[1:]
			fn(seq, at, true)
		case rtcp.TypeTCCPacketReceivedWithoutDelta:
			// Received, but with no time: no use to a rate.
		default:
			fn(seq, 0, false)
		}
		seq++
		left--
		return true
	}
	for _, chunk := range fb.PacketChunks {
		switch ch := chunk.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(ch.RunLength) && left > 0; i++ {
				if !status(ch.PacketStatusSymbol) {
					return
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range ch.SymbolList {
				if left <= 0 {
					break
				}
				if !status(s) {
					return
				}
			}
		}
		if left <= 0 {
			return
		}
	}
}
