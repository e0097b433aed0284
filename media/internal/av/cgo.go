package av

/*
#cgo pkg-config: libavutil libswresample libavcodec
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

static int rg_frame_linesize(AVFrame *f, int i) { return f->linesize[i]; }
static uint8_t *rg_frame_data(AVFrame *f, int i) { return f->data[i]; }

static SwrContext *rg_swr_new(int in_rate, int in_ch, int out_rate, int out_ch) {
	AVChannelLayout in_l, out_l;
	av_channel_layout_default(&in_l, in_ch);
	av_channel_layout_default(&out_l, out_ch);
	SwrContext *s = NULL;
	if (swr_alloc_set_opts2(&s, &out_l, AV_SAMPLE_FMT_S16, out_rate, &in_l, AV_SAMPLE_FMT_S16, in_rate, 0, NULL) < 0) return NULL;
	if (swr_init(s) < 0) { swr_free(&s); return NULL; }
	return s;
}
static int rg_swr_convert(SwrContext *s, uint8_t *out, int out_count, const uint8_t *in, int in_count) {
	return swr_convert(s, &out, out_count, in_count ? &in : NULL, in_count);
}
static void rg_swr_free(SwrContext *s) { swr_free(&s); }

// rg_set_frame_ticks says how many time-base units a frame lasts.
// FFmpeg 5.1's libvpx wrapper passes this (default 1) to libvpx as every
// frame's duration. FFmpeg deprecates the field from 6.1 and removes it
// in 8; TestVP8FirstKeyframeGetsItsBudget checks the outcome in both
// lanes (5.1 and 7.1).
static void rg_set_frame_ticks(AVCodecContext *c, int ticks) {
#if LIBAVCODEC_VERSION_MAJOR < 62
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	c->ticks_per_frame = ticks;
#pragma GCC diagnostic pop
#endif
}

#ifdef __GLIBC__
#include <malloc.h>
static void rg_trim(void) { malloc_trim(0); }
#else
static void rg_trim(void) {}
#endif
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// TrimCHeap hands the C allocator's free memory back to the system
// (glibc's malloc_trim; nothing elsewhere), so that the resident set
// counts what C code holds rather than what its arenas kept: how the
// leak tests measure.
func TrimCHeap() { C.rg_trim() }

// FFmpegVersion is the version of the FFmpeg libraries this process runs
// with ("5.1.6-0+deb12u1", "7.1.2-…"), and LibavcodecMajor their
// libavcodec's major version (59 for 5.1, 61 for 7.x).
func FFmpegVersion() string { return C.GoString(C.av_version_info()) }

// LibavcodecMajor is the running libavcodec's major version.
func LibavcodecMajor() int { return int(C.avcodec_version() >> 16) }

// cPointer is the C struct behind a go-astiav value that holds only its
// C pointer. go-astiav v0.16 has no accessor for a codec context's, a
// packet's or a format context's (it has one for a frame's); every line
// this package binds (v0.16 to v0.39) keeps the pointer as the struct's
// one field, which TestCPointers and TestDemuxerReadsEveryPayload check.
func cPointer[T astiav.CodecContext | astiav.Packet | astiav.FormatContext](v *T) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(v))
}

// setFrameTicks tells an encoder opened on a 90 kHz time base that a
// frame lasts ticks of it. Told one tick (FFmpeg's default), libvpx took
// each frame for 1/90000 s long: it starved the first keyframe and did a
// third more work at 720p for a worse picture (the ffmpeg CLI given
// -enc_time_base 1:90000 does the same).
func setFrameTicks(cc *astiav.CodecContext, ticks int) {
	C.rg_set_frame_ticks((*C.AVCodecContext)(cPointer(cc)), C.int(ticks))
}

// plane returns n bytes of a frame's data plane i, without copying.
func plane(f *astiav.Frame, i, n int) []byte {
	p := C.rg_frame_data((*C.AVFrame)(f.UnsafePointer()), C.int(i))
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

func linesize(f *astiav.Frame, i int) int {
	return int(C.rg_frame_linesize((*C.AVFrame)(f.UnsafePointer()), C.int(i)))
}

// Resampler converts interleaved signed 16-bit PCM between rates and
// channel counts (libswresample).
type Resampler struct {
	s             *C.SwrContext
	inRate, inCh  int
	outRate, outC int
}

// NewResampler makes a resampler from inRate/inCh to outRate/outCh.
func NewResampler(inRate, inCh, outRate, outCh int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inCh < 1 || outCh < 1 || inCh > 8 || outCh > 8 {
		return nil, errors.New("av: invalid resampler format")
	}
	s := C.rg_swr_new(C.int(inRate), C.int(inCh), C.int(outRate), C.int(outCh))
	if s == nil {
		return nil, errors.New("av: cannot create resampler")
	}
	live.Add(1)
	return &Resampler{s: s, inRate: inRate, inCh: inCh, outRate: outRate, outC: outCh}, nil
}

// Convert resamples in (whole frames of inCh samples) and appends the
// output to out. A nil in flushes what the resampler holds back.
func (r *Resampler) Convert(out, in []int16) ([]int16, error) {
	inFrames := len(in) / r.inCh
	capFrames := inFrames*r.outRate/r.inRate + 256
	start := len(out)
	out = append(out, make([]int16, capFrames*r.outC)...)
	var inPtr *C.uint8_t
	if inFrames > 0 {
		inPtr = (*C.uint8_t)(unsafe.Pointer(&in[0]))
	}
	n := C.rg_swr_convert(r.s, (*C.uint8_t)(unsafe.Pointer(&out[start])), C.int(capFrames), inPtr, C.int(inFrames))
	if n < 0 {
		return out[:start], errors.New("av: resampling failed")
	}
	return out[:start+int(n)*r.outC], nil
}

// Close frees the resampler.
func (r *Resampler) Close() {
	if r != nil && r.s != nil {
		C.rg_swr_free(r.s)
		r.s = nil
		live.Add(-1)
	}
}
