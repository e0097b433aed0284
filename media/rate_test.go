package media

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
)

func fixed(bps int) func() int { return func() int { return bps } }

func TestRateTargetTakesTheLowestShareAboveTheFloor(t *testing.T) {
	r := newRateControl(100_000, 1_400_000, func(*peer.OtherTracks) float64 { return 0.7 })
	assert.Equal(t, 1_400_000, r.target(r.shares()), "nobody watching through an estimator: the top of the range")

	stopA := r.follow(fixed(1_000_000), nil)
	stopB := r.follow(fixed(400_000), nil)
	assert.Equal(t, 280_000, r.target(r.shares()), "one encoder for both: the lower share")

	stopC := r.follow(fixed(50_000), nil) // its share, 35 kb/s, is under the floor
	assert.Equal(t, 280_000, r.target(r.shares()), "a viewer below the floor does not drag the others down")

	stopB()
	assert.Equal(t, 700_000, r.target(r.shares()))
	stopA()
	assert.Equal(t, 100_000, r.target(r.shares()), "only viewers below the floor: the floor")
	stopC()
	r.follow(fixed(10_000_000), nil)
	assert.Equal(t, 1_400_000, r.target(r.shares()), "never above the caller's maximum")
}

func TestVideoShareLeavesRoomForWhatElseIsSent(t *testing.T) {
	for _, c := range []struct {
		others *peer.OtherTracks
		want   float64
		why    string
	}{
		{nil, 0.8, "not told: room for one audio track"},
		{&peer.OtherTracks{}, 0.9, "alone: all but the headroom"},
		{&peer.OtherTracks{Audio: 1}, 0.8, "beside a microphone"},
		{&peer.OtherTracks{Audio: 1, Video: 1}, 0.4, "a camera and a screen split what audio leaves"},
		{&peer.OtherTracks{Video: 2}, 0.3, "three video tracks"},
		{&peer.OtherTracks{Audio: 12}, 0.1, "never under audio's own part"},
	} {
		assert.InDelta(t, c.want, videoShare(c.others), 1e-9, c.why)
		assert.InDelta(t, 0.1, audioShare(c.others), 1e-9, "audio's part does not depend on the rest")
	}
}

func TestRateSharesFollowEachConnectionsCompany(t *testing.T) {
	r := newRateControl(100_000, 1_800_000, videoShare)
	assert.Equal(t, 2_250_000, r.usableEstimate(), "followed nowhere: the assumed 80 %")

	var company atomic.Value
	company.Store(peer.OtherTracks{})
	others := func() peer.OtherTracks { return company.Load().(peer.OtherTracks) }
	stopAlone := r.follow(fixed(1_000_000), others)
	assert.Equal(t, 900_000, r.target(r.shares()), "a video track alone on its connection takes 90 %")
	assert.Equal(t, 2_000_000, r.usableEstimate())

	company.Store(peer.OtherTracks{Audio: 1})
	assert.Equal(t, 800_000, r.target(r.shares()), "read anew each time: a microphone added since")

	stopPlain := r.follow(fixed(1_100_000), nil)
	company.Store(peer.OtherTracks{})
	assert.Equal(t, 880_000, r.target(r.shares()), "the lower of 90 % of 1 Mb/s and 80 % of 1.1 Mb/s")
	assert.Equal(t, 2_250_000, r.usableEstimate(), "on the connection where the share is least")
	stopPlain()
	stopAlone()
	assert.Equal(t, 1_800_000, r.target(r.shares()), "followed nowhere: the top of the range")
}

func TestRatePollGoesDownAtOnceAndUpSlowly(t *testing.T) {
	r := newRateControl(100_000, 1_400_000, func(*peer.OtherTracks) float64 { return 0.7 })
	var est atomic.Int64
	est.Store(1_000_000)
	r.follow(func() int { return int(est.Load()) }, nil)
	now := time.Unix(1000, 0)
	bps, change := r.poll(now)
	require.True(t, change, "700 kb/s is well under the 1.4 Mb/s start")
	assert.Equal(t, 700_000, bps)
	r.set(bps, now)

	est.Store(1_080_000) // 756 kb/s: within the 10 % margin
	_, change = r.poll(now.Add(300 * time.Millisecond))
	assert.False(t, change)

	// The first setting followed a starting guess: a measured estimate
	// (a start-up probe's) raises the rate without waiting.
	est.Store(1_500_000)
	bps, change = r.poll(now.Add(600 * time.Millisecond))
	require.True(t, change, "the first setting holds no raise back")
	assert.Equal(t, 1_050_000, bps)
	r.set(bps, now.Add(600*time.Millisecond))

	now = now.Add(600 * time.Millisecond)
	est.Store(2_000_000) // 1.4 Mb/s, but the last change is too recent
	_, change = r.poll(now.Add(rateRaiseAfter - 300*time.Millisecond))
	assert.False(t, change, "up only rateRaiseAfter after the last change")
	bps, change = r.poll(now.Add(rateRaiseAfter))
	require.True(t, change)
	assert.Equal(t, 1_400_000, bps)
	r.set(bps, now.Add(rateRaiseAfter))

	est.Store(500_000) // 350 kb/s
	bps, change = r.poll(now.Add(rateRaiseAfter + 300*time.Millisecond))
	require.True(t, change, "down at once")
	assert.Equal(t, 350_000, bps)
	_, change = r.poll(now.Add(rateRaiseAfter + 400*time.Millisecond))
	assert.False(t, change, "checked at most every 250 ms")
}

func TestPassthroughTracksIgnoreTheEstimate(t *testing.T) {
	player, err := FromFile(testMedia(t, "vp8-opus.webm", "2"))
	require.NoError(t, err)
	defer player.Close()
	stop := player.Video.FollowBitrate(fixed(1))
	stop()
	assert.False(t, player.Video.Sending().Adaptive, "VP8 passes through: nothing to adapt")
	assert.False(t, player.Audio.Sending().Adaptive, "Opus passes through too")
}

// An AudioSource on a thin link gives way: its Opus rate follows the
// estimate down to the floor (an eighth would be under it).
func TestAudioSourceFollowsTheEstimate(t *testing.T) {
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithAudioBitrate(64_000))
	require.NoError(t, err)
	defer src.Close()
	assert.Equal(t, 64_000, src.Sending().TargetBitrate)
	stop := src.FollowBitrate(fixed(100_000))
	defer stop()
	var phase float64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Eventually(t, func() bool {
		_ = src.Push(ctx, sine(440, 48000, 2, 100*time.Millisecond, &phase))
		return src.Sending().TargetBitrate == minAudioDefault
	}, 5*time.Second, 10*time.Millisecond, "the encoder re-opened at the floor")
	assert.NoError(t, src.Err())
}
