package media

import (
	"bytes"
	"fmt"
	"time"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// EncodedAudio is audio encoded once, for AudioSource.PushEncoded to send
// as often as it is pushed without encoding it again: the greeting or hold
// message a fleet of voice agents says in every call, or a test's caller
// asking the same question in a hundred calls. It is safe to push into
// many sources at once.
type EncodedAudio struct {
	packets [][]byte // Opus, 20 ms each
	pcm     []int16  // 48 kHz stereo, a frame per packet: what WithPlayout hears
}

// EncodeAudio encodes pcm in format f (see AudioFormat) as an AudioSource
// made with opts would (WithAudioBitrate, WithOpusMode), in 20 ms packets,
// the last padded with silence.
func EncodeAudio(pcm []byte, f AudioFormat, opts ...AudioEncoderOption) (*EncodedAudio, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if len(pcm)%(2*f.Channels) != 0 {
		return nil, fmt.Errorf("%w: %d bytes are not whole samples of %d channels", ErrBadFormat, len(pcm), f.Channels)
	}
	o := collect(opts, AudioEncoderOption.applyAudioSource)
	if err := o.check(); err != nil {
		return nil, err
	}
	samples := appendS16(make([]int16, 0, len(pcm)/2), pcm)
	if f.SampleRate != 48000 || f.Channels != opusChannels {
		rs, err := av.NewResampler(f.SampleRate, f.Channels, 48000, opusChannels)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		if samples, err = rs.Convert(nil, samples); err != nil {
			return nil, fmt.Errorf("media: resampling: %w", err)
		}
	}
	enc, _, err := newSourceEncoder(o)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	const frame = opusSamples * opusChannels
	frames := (len(samples) + frame - 1) / frame
	e := &EncodedAudio{pcm: make([]int16, frames*frame)}
	copy(e.pcm, samples)
	keep := func(p av.Packet) { e.packets = append(e.packets, bytes.Clone(p.Data)) }
	for i := range frames {
		if err := enc.EncodeAudio(e.pcm[i*frame:(i+1)*frame], int64(i*opusSamples), keep); err != nil {
			return nil, fmt.Errorf("media: encoding audio: %w", err)
		}
	}
	if err := enc.Flush(keep); err != nil {
		return nil, fmt.Errorf("media: encoding audio: %w", err)
	}
	// The encoder's look-ahead can make a packet more than frames in.
	if want := len(e.packets) * frame; want > len(e.pcm) {
		e.pcm = append(e.pcm, make([]int16, want-len(e.pcm))...)
	} else {
		e.pcm = e.pcm[:want]
	}
	return e, nil
}

// Duration is how long the audio plays: 20 ms a packet.
func (e *EncodedAudio) Duration() time.Duration {
	return time.Duration(len(e.packets)) * opusFrame
}
