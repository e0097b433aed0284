package peer

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Keeping our m-lines able to receive.
//
// pion answers a remote offer by changing its own transceivers' directions:
// an m-line the remote offers as recvonly turns our sendrecv transceiver
// into sendonly and our receive slot into inactive, and pion offers that
// direction from then on. A browser offers every m-line our offers made as
// recvonly (its transceivers for them have no track), so after its first
// offer our m-lines could no longer receive. A browser that then adds a
// track reuses one of those transceivers (JSEP's addTrack rule) and wants to
// send on it; if our next offer reaches it first, it says sendonly or
// inactive there, the browser answers without sending, JSEP counts that as
// settled, and the track never arrives (CI saw it in the glare rounds, and
// the metadata trials with Chromium did, after an ICE restart).
//
// So where the remote said recvonly on an m-line of ours that receives,
// pion gets an offer that leaves our direction alone (sendonly for a slot,
// sendrecv for one of our tracks; not inactive, on which pion stops the
// transceiver for good), and the answer the remote gets says what JSEP
// gives for the offer as it was: inactive for a slot, sendonly for a track. pion cannot be handed an
// answer other than its own (it refuses a changed local description), so
// only the copy that is sent is changed.

// keepDirections returns offer as pion is to see it, and the direction of
// each m-line it changed in the answer the remote is to get.
func (c *conn) keepDirections(offer webrtc.SessionDescription) (webrtc.SessionDescription, map[string]string) {
	type keep struct{ seen, answer string }
	receives := map[string]keep{} // mid → what pion sees, what the remote gets
	for _, t := range c.pc.GetTransceivers() {
		switch {
		case t.Mid() == "":
		case c.slots[t] && t.Direction() == webrtc.RTPTransceiverDirectionRecvonly:
			receives[t.Mid()] = keep{"sendonly", "inactive"}
		case t.Direction() == webrtc.RTPTransceiverDirectionSendrecv && t.Sender() != nil && t.Sender().Track() != nil:
			receives[t.Mid()] = keep{"sendrecv", "sendonly"}
		}
	}
	answers := map[string]string{}
	offer.SDP = rewriteDirections(offer.SDP, func(mid, dir string) string {
		if k, ok := receives[mid]; ok && dir == "recvonly" {
			answers[mid] = k.answer
			return k.seen
		}
		return dir
	})
	return offer, answers
}

// fixAnswer sets the directions keepDirections decided in the answer that
// is sent.
func fixAnswer(answer webrtc.SessionDescription, answers map[string]string) webrtc.SessionDescription {
	if len(answers) == 0 {
		return answer
	}
	answer.SDP = rewriteDirections(answer.SDP, func(mid, dir string) string {
		if a, ok := answers[mid]; ok {
			return a
		}
		return dir
	})
	return answer
}

// rewriteDirections replaces each media section's direction attribute
// with what to(mid, direction) returns; a section without one is sendrecv.
func rewriteDirections(sdp string, to func(mid, dir string) string) string {
	var out strings.Builder
	out.Grow(len(sdp) + 16)
	var section []string
	flush := func() {
		mid, at, dir := "", -1, "sendrecv"
		for i, l := range section {
			switch a := strings.TrimRight(l, "\r\n"); {
			case strings.HasPrefix(a, "a=mid:"):
				mid = strings.TrimPrefix(a, "a=mid:")
			case a == "a=sendrecv" || a == "a=sendonly" || a == "a=recvonly" || a == "a=inactive":
				at, dir = i, strings.TrimPrefix(a, "a=")
			}
		}
		if mid != "" {
			if next := to(mid, dir); next != dir {
				if at >= 0 {
					l := section[at]
					section[at] = "a=" + next + l[len(strings.TrimRight(l, "\r\n")):]
				} else {
					section = append(section, "a="+next+"\r\n")
				}
			}
		}
		for _, l := range section {
			out.WriteString(l)
		}
		section = section[:0]
	}
	for _, l := range strings.SplitAfter(sdp, "\n") {
		if strings.HasPrefix(l, "m=") {
			flush()
		}
		section = append(section, l)
	}
	flush()
	return out.String()
}
