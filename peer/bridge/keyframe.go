package bridge

import "strings"

// keyframeStart tells, for a video codec, whether an RTP payload starts a
// picture a decoder can begin with. nil for codecs it cannot tell (audio
// needs none).
func keyframeStart(mimeType string) func(payload []byte) bool {
	switch strings.ToLower(mimeType) {
	case "video/h264":
		return h264Key
	case "video/vp8":
		return vp8Key
	case "video/vp9":
		return vp9Key
	}
	return nil
}

// h264Key: an IDR slice or a sequence parameter set (encoders send it
// first, in the keyframe's access unit), whole, in a STAP-A or as the
// first fragment of an FU-A (RFC 6184).
func h264Key(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 24: // STAP-A: 16-bit sizes, then the units
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			i += 2
			if n == 0 || i+n > len(p) {
				return false
			}
			if h264KeyUnit(p[i] & 0x1f) {
				return true
			}
			i += n
		}
		return false
	case 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && h264KeyUnit(p[1]&0x1f)
	default:
		return h264KeyUnit(t)
	}
}

func h264KeyUnit(t byte) bool { return t == 5 || t == 7 }

// vp8Key: the start of the first partition of a frame whose header says
// key frame (RFC 7741, 4.2 and 4.3).
func vp8Key(p []byte) bool {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false // not the start of partition 0
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension bits follow
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i++
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// vp9Key: the beginning of a frame that is not inter-predicted
// (RFC 9628, 4.2: B set, P clear).
func vp9Key(p []byte) bool { return len(p) > 0 && p[0]&0x08 != 0 && p[0]&0x40 == 0 }
