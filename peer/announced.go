package peer

import "time"

// Waiting for the tracks a remote has announced.
//
// The JS SDK sends a track's metadata just before it adds the track. A
// browser's addTrack reuses a transceiver that one of our offers made (one
// that has never sent), and pion has by then turned our side of that m-line
// to send-only or inactive: it rewrites a transceiver's own direction when
// it answers an offer that only receives there, which a browser's offers
// do on every m-line of ours, and offers that direction from then on. If
// our offer reaches the browser before the browser's own offer for the
// track, the browser answers without sending there, JSEP counts that
// negotiation as complete, and the track never arrives (CI saw it, and the
// metadata trials against Chromium did, at every other try with an ICE
// restart). The browser's own offer puts the m-line back to receiving in
// pion. So the polite side, which would yield to the remote's offer in a
// collision anyway, holds its offers while a track the remote announced
// has not arrived, for at most announcedTrackWait. The impolite side never
// holds, so two Go peers never wait for each other.
const announcedTrackWait = time.Second

// expectTrack notes that the remote announced trackID. It runs on c.ops.
func (c *conn) expectTrack(trackID string) {
	if !c.polite || c.closed {
		return
	}
	if c.announced == nil {
		c.announced = map[string]time.Time{}
	}
	if _, ok := c.announced[trackID]; ok {
		return
	}
	c.announced[trackID] = time.Now()
	c.armAnnounceTimer(announcedTrackWait)
}

// armAnnounceTimer makes sure the wait is looked at again within d.
func (c *conn) armAnnounceTimer(d time.Duration) {
	if c.announceTimer != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		c.ops.do(func() {
			if c.announceTimer != t {
				return
			}
			c.announceTimer = nil
			c.releaseOffers()
			if oldest, ok := c.oldestAnnounced(); ok {
				c.armAnnounceTimer(announcedTrackWait - time.Since(oldest))
			}
		})
	})
	c.announceTimer = t
}

func (c *conn) oldestAnnounced() (time.Time, bool) {
	var oldest time.Time
	for _, at := range c.announced {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	return oldest, !oldest.IsZero()
}

// trackArrived ends the wait for trackID (it arrived, or its metadata was
// withdrawn). It runs on c.ops.
func (c *conn) trackArrived(trackID string) {
	if _, ok := c.announced[trackID]; !ok {
		return
	}
	delete(c.announced, trackID)
	c.releaseOffers()
}

// holdingOffers reports whether an announced track is still awaited,
// forgetting those awaited too long.
func (c *conn) holdingOffers(now time.Time) bool {
	holding := false
	for id, at := range c.announced {
		if now.Sub(at) >= announcedTrackWait {
			delete(c.announced, id)
			continue
		}
		holding = true
	}
	return holding
}

// releaseOffers makes the offer held back, once nothing is awaited.
func (c *conn) releaseOffers() {
	if c.closed || !c.offerHeld || c.holdingOffers(time.Now()) {
		return
	}
	c.offerHeld = false
	c.trace("offer released")
	c.negotiate()
}
