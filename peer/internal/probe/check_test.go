package probe

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A path with room: packets take as long as ever, whatever jitter does to
// one or two of them.
func TestCheckPassesAnOpenPath(t *testing.T) {
	t.Parallel()
	var c Check
	c.Start(t0)
	offset := 3 * time.Hour // the receiver's clock is its own
	for i := range 150 {
		sent := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		require.True(t, c.Active(sent))
		c.Sent(uint16(i), 1200, sent)
		delay := 20 * time.Millisecond
		if i%40 == 7 || i%40 == 8 {
			delay += 90 * time.Millisecond // a Wi-Fi retry, two packets long
		}
		_, full := c.Arrived(uint16(i), time.Duration(sent.UnixNano())+offset+delay)
		require.False(t, full, "packet %d", i)
	}
	assert.False(t, c.Active(t0.Add(CheckFor)), "over after CheckFor")
}

// A policer's bucket let a probe through; the encoders now send 480 kb/s
// into a 300 kb/s path: the queue grows, and the rate that arrives is
// what the estimate becomes.
func TestCheckFindsAQueueGrowing(t *testing.T) {
	t.Parallel()
	var c Check
	c.Start(t0)
	const size, sendEvery = 1200, 20 * time.Millisecond         // 480 kb/s
	const serve = time.Duration(size*8) * time.Second / 300_000 // 32 ms a packet at 300 kb/s
	free := time.Duration(0)                                    // when the link is next free, from t0
	for i := range 100 {
		sentAfter := time.Duration(i) * sendEvery
		c.Sent(uint16(i), size, t0.Add(sentAfter))
		free = max(free, sentAfter) + serve
		bps, full := c.Arrived(uint16(i), time.Duration(t0.UnixNano())+free+10*time.Millisecond)
		if !full {
			continue
		}
		queued := free - sentAfter
		assert.GreaterOrEqual(t, queued, queueGrowth, "only once the queue has grown")
		assert.Less(t, queued, 3*queueGrowth, "and soon after: packet %d", i)
		assert.InDelta(t, checkDrop*300_000, bps, 0.1*300_000, "the rate that arrives")
		assert.False(t, c.Active(t0.Add(sentAfter)), "the check is over")
		return
	}
	t.Fatal("the growing queue went unseen")
}
