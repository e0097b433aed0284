package media

import "github.com/metered-ca/realtime-go/media/internal/av"

// isKeyframe tells whether a depacketized frame of codec c starts a picture
// that decodes on its own. Audio frames always do.
func isKeyframe(c av.Codec, data []byte) bool {
	if len(data) == 0 {
		return false
	}
	switch c {
	case av.CodecVP8:
		return data[0]&0x01 == 0 // frame tag: key frame when the low bit is 0
	case av.CodecVP9:
		// Uncompressed header, profiles 0-2: marker(2) profile(2)
		// show_existing(1) frame_type(1, 0 = key).
		return data[0]>>6 == 2 && data[0]&0x08 == 0 && data[0]&0x04 == 0
	case av.CodecH264:
		return h264HasNAL(data, 5) // an IDR slice
	}
	return true
}

// h264NALs calls fn for every NAL unit of an Annex B buffer.
func h264NALs(b []byte, fn func(nal []byte)) {
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				fn(b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	}
}

func h264HasNAL(b []byte, typ byte) bool {
	found := false
	h264NALs(b, func(nal []byte) {
		if len(nal) > 0 && nal[0]&0x1f == typ {
			found = true
		}
	})
	return found
}

// h264ParameterSets returns the SPS and PPS of an Annex B buffer, each with
// a start code, or nil when either is missing.
func h264ParameterSets(b []byte) []byte {
	var sps, pps []byte
	h264NALs(b, func(nal []byte) {
		switch {
		case len(nal) > 0 && nal[0]&0x1f == 7:
			sps = nal
		case len(nal) > 0 && nal[0]&0x1f == 8:
			pps = nal
		}
	})
	if sps == nil || pps == nil {
		return nil
	}
	out := append([]byte{0, 0, 0, 1}, sps...)
	out = append(out, 0, 0, 0, 1)
	return append(out, pps...)
}
