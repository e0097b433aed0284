package media

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// xvfb starts a virtual X display for the test and returns its name.
func xvfb(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatal("Xvfb is missing: run `make setup`")
	}
	for n := 90 + os.Getpid()%50; n < 200; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		display := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", display, "-screen", "0", "640x480x24", "-nolisten", "tcp")
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		require.Eventually(t, func() bool {
			_, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n))
			return err == nil
		}, 10*time.Second, 20*time.Millisecond, "Xvfb never came up")
		return display
	}
	t.Fatal("no free X display number")
	return ""
}

// ScreenShare of a virtual display reaches another peer as 640x480 video.
func TestScreenShareUnderXvfb(t *testing.T) {
	display := xvfb(t)
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "presenter"), peertest.NewPeer(t, srv, "audience")
	ctx := peertest.Context(t, 60*time.Second)
	screen, err := ScreenShare(WithDevice(display), WithFrameRate(10))
	require.NoError(t, err)
	defer screen.Close()
	require.Nil(t, screen.Audio)
	require.NotNil(t, screen.Video)
	require.NoError(t, a.AddTrack(screen.Video, nil, peer.StreamMetadata{"kind": "screen"}))
	sizes := make(chan [2]int, 1)
	peer.On(b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			assert.Equal(t, "screen", tr.Metadata["kind"])
			go func() {
				n := 0
				for f, err := range Frames(ctx, tr.Track, WithKeyframeRequests(remote.PC())) {
					if err != nil {
						return
					}
					if n++; n == 5 {
						sizes <- [2]int{f.Width, f.Height}
						return
					}
				}
			}()
		})
	})
	require.NoError(t, a.Join(ctx, "screen"))
	require.NoError(t, b.Join(ctx, "screen"))
	require.NoError(t, screen.Start())
	select {
	case s := <-sizes:
		assert.Equal(t, [2]int{640, 480}, s)
	case <-ctx.Done():
		t.Fatal("no screen frames")
	}
}

func TestMissingDevicesAreClearErrors(t *testing.T) {
	_, err := FromCamera(WithDevice("/dev/video-missing"))
	assert.ErrorIs(t, err, ErrDeviceNotFound)
	assert.Contains(t, err.Error(), "/dev/video-missing")
	_, err = FromMicrophone(WithAudioSystem(ALSA), WithDevice("hw:97"))
	assert.ErrorIs(t, err, ErrDeviceNotFound)
	_, err = FromMicrophone(WithAudioSystem("oss"))
	assert.Error(t, err)
	_, err = ScreenShare(WithDevice(":199"))
	assert.ErrorIs(t, err, ErrDeviceNotFound)
}
