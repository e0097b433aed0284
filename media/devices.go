package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// ErrDeviceNotFound: the camera, microphone or display is not there.
var ErrDeviceNotFound = errors.New("media: device not found")

// WithDevice names the device a capture source opens: a V4L2 path for
// FromCamera ("/dev/video0" by default), an ALSA or PulseAudio device for
// FromMicrophone ("default"), an X display for ScreenShare ($DISPLAY, else
// ":0").
func WithDevice(name string) DeviceOption { return opt(func(o *options) { o.device = name }) }

// WithDeviceOption passes an FFmpeg option to a capture device's input
// ("input_format": "mjpeg" for a V4L2 camera, "sample_rate": "16000" for a
// microphone, …).
func WithDeviceOption(key, value string) DeviceOption {
	return opt(func(o *options) {
		if o.deviceOpts == nil {
			o.deviceOpts = map[string]string{}
		}
		o.deviceOpts[key] = value
	})
}

// WithVideoSize asks a camera or screen capture for a picture size.
func WithVideoSize(width, height int) VideoDeviceOption {
	return opt(func(o *options) { o.width, o.height = width, height })
}

// WithFrameRate asks a camera or screen capture for a frame rate (30 and
// 15 by default).
func WithFrameRate(fps int) VideoDeviceOption { return opt(func(o *options) { o.fps = fps }) }

// AudioSystem is where FromMicrophone captures from.
type AudioSystem string

// Audio systems for WithAudioSystem.
const (
	Pulse AudioSystem = "pulse" // PulseAudio (or PipeWire's pulse server): the default
	ALSA  AudioSystem = "alsa"
)

// WithAudioSystem picks FromMicrophone's audio system (Pulse by default).
func WithAudioSystem(s AudioSystem) MicrophoneOption {
	return opt(func(o *options) { o.audioSystem = s })
}

// FromCamera captures a V4L2 camera as a video track, encoded to VP8 (or
// H.264, WithVideoCodec).
func FromCamera(opts ...VideoDeviceOption) (*Player, error) {
	o := collect(opts, VideoDeviceOption.applyVideoDevice)
	dev := o.device
	if dev == "" {
		dev = "/dev/video0"
	}
	if _, err := os.Stat(dev); err != nil {
		return nil, fmt.Errorf("%w: camera %s: %v", ErrDeviceNotFound, dev, err)
	}
	in := av.InputOptions{Format: "v4l2", Options: map[string]string{"framerate": strconv.Itoa(fpsOr(o.fps, 30))}}
	if o.width > 0 && o.height > 0 {
		in.Options["video_size"] = fmt.Sprintf("%dx%d", o.width, o.height)
	}
	return openDevice("camera "+dev, dev, in, o)
}

// FromMicrophone captures a microphone as an Opus audio track.
func FromMicrophone(opts ...MicrophoneOption) (*Player, error) {
	o := collect(opts, MicrophoneOption.applyMicrophone)
	system := o.audioSystem
	if system != Pulse && system != ALSA {
		return nil, fmt.Errorf("media: audio system %q: use media.Pulse or media.ALSA", system)
	}
	dev := o.device
	if dev == "" {
		dev = "default"
	}
	return openDevice(string(system)+" microphone "+dev, dev, av.InputOptions{Format: string(system)}, o)
}

// ScreenShare captures an X11 display (x11grab) as a video track, encoded
// to VP8 (or H.264, WithVideoCodec). WithDevice names the display,
// WithVideoSize a region from the top left.
func ScreenShare(opts ...VideoDeviceOption) (*Player, error) {
	o := collect(opts, VideoDeviceOption.applyVideoDevice)
	display := o.device
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		display = ":0"
	}
	in := av.InputOptions{Format: "x11grab", Options: map[string]string{"framerate": strconv.Itoa(fpsOr(o.fps, 15)), "draw_mouse": "1"}}
	if o.width > 0 && o.height > 0 {
		in.Options["video_size"] = fmt.Sprintf("%dx%d", o.width, o.height)
	}
	return openDevice("display "+display, display, in, o)
}

func fpsOr(fps, def int) int {
	if fps > 0 {
		return fps
	}
	return def
}

// openDevice opens a capture device as a live player; a device that will
// not open is reported as ErrDeviceNotFound with FFmpeg's reason.
func openDevice(what, url string, in av.InputOptions, o options) (*Player, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if in.Options == nil {
		in.Options = map[string]string{}
	}
	for k, v := range o.deviceOpts {
		in.Options[k] = v
	}
	p, err := openPlayer(context.Background(), url, in, o, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDeviceNotFound, what, err)
	}
	return p, nil
}
