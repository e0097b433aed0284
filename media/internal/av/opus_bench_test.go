package av

import (
	"os"
	"path/filepath"
	"testing"
)

// speech48k is flite's voice resampled to what AudioSource encodes: 48 kHz
// stereo, a whole number of 20 ms frames.
func speech48k(b *testing.B) []int16 {
	b.Helper()
	text := filepath.Join(b.TempDir(), "text")
	if err := os.WriteFile(text, []byte("The next train leaves at nine from platform two. When does the next train leave?"), 0o600); err != nil {
		b.Fatal(err)
	}
	pcm, rate, err := Synthesize(text, "slt", nil)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := NewResampler(rate, 1, 48000, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	out, err := rs.Convert(nil, pcm)
	if err != nil {
		b.Fatal(err)
	}
	return out[:len(out)/1920*1920]
}

// BenchmarkOpusEncode is the cost of one 20 ms frame of speech at
// AudioSource's settings, in the VoIP and the low-delay mode.
func BenchmarkOpusEncode(b *testing.B) {
	pcm := speech48k(b)
	for _, lowDelay := range []bool{false, true} {
		name := map[bool]string{false: "voip", true: "lowdelay"}[lowDelay]
		b.Run(name, func(b *testing.B) {
			enc, err := NewOpusEncoder(OpusSettings{Channels: 2, Bitrate: 48000, LowDelay: lowDelay})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			i := 0
			for b.Loop() {
				at := i * 1920 % len(pcm)
				if err := enc.EncodeAudio(pcm[at:at+1920], int64(i*960), func(Packet) {}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOpusDecode is the cost of one 20 ms frame of speech as Frames
// decodes it (borrowed, 48 kHz stereo 16-bit).
func BenchmarkOpusDecode(b *testing.B) {
	pcm := speech48k(b)
	enc, err := NewOpusEncoder(OpusSettings{Channels: 2, Bitrate: 48000})
	if err != nil {
		b.Fatal(err)
	}
	var packets [][]byte
	for at := 0; at < len(pcm); at += 1920 {
		if err := enc.EncodeAudio(pcm[at:at+1920], int64(at/2), func(p Packet) { packets = append(packets, p.Data) }); err != nil {
			b.Fatal(err)
		}
	}
	enc.Close()
	dec, err := NewDecoder(CodecOpus, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	i := 0
	for b.Loop() {
		if err := dec.DecodeBorrowed(packets[i%len(packets)], int64(i*960), func(*Frame) {}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
