package av

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// Scaler resizes decoded I420 pictures (a sender lowering its resolution
// for a thin link). The picture it returns is its own, valid until the
// next Scale or Close.
type Scaler struct {
	ssc                    *astiav.SoftwareScaleContext
	dst                    *astiav.Frame
	srcW, srcH, dstW, dstH int
}

// NewScaler makes a scaler; it sets itself up on the first Scale.
func NewScaler() *Scaler {
	live.Add(1)
	return &Scaler{dst: astiav.AllocFrame()}
}

// Scale returns f at w×h. f must be a picture a Decoder lent
// (DecodeBorrowed).
func (s *Scaler) Scale(f *Frame, w, h int) (*Frame, error) {
	if f.pic == nil {
		return nil, errors.New("av: only a decoded picture can be scaled")
	}
	if s.ssc == nil || f.Width != s.srcW || f.Height != s.srcH || w != s.dstW || h != s.dstH {
		if s.ssc != nil {
			s.ssc.Free()
			s.ssc = nil
		}
		ssc, err := astiav.CreateSoftwareScaleContext(f.Width, f.Height, astiav.PixelFormatYuv420P, w, h, astiav.PixelFormatYuv420P,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagFastBilinear))
		if err != nil {
			return nil, fmt.Errorf("av: scaling %dx%d to %dx%d: %w", f.Width, f.Height, w, h, err)
		}
		s.ssc, s.srcW, s.srcH, s.dstW, s.dstH = ssc, f.Width, f.Height, w, h
	}
	s.dst.Unref()
	s.dst.SetWidth(w)
	s.dst.SetHeight(h)
	s.dst.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := s.dst.AllocBuffer(0); err != nil {
		return nil, err
	}
	if err := s.ssc.ScaleFrame(f.pic, s.dst); err != nil {
		return nil, fmt.Errorf("av: scaling: %w", err)
	}
	return &Frame{PTS: f.PTS, Width: w, Height: h, pic: s.dst}, nil
}

// Close frees the scaler.
func (s *Scaler) Close() {
	if s == nil || s.dst == nil {
		return
	}
	if s.ssc != nil {
		s.ssc.Free()
	}
	s.dst.Free()
	s.dst = nil
	live.Add(-1)
}
