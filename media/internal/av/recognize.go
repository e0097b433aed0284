package av

/*
#cgo pkg-config: libavfilter libavutil
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>

typedef struct {
	AVFilterGraph *graph;
	AVFilterContext *src, *sink;
	AVFrame *out;
	int64_t pts;
} rg_asr;

static void rg_asr_free(rg_asr *r) {
	if (!r) return;
	av_frame_free(&r->out);
	avfilter_graph_free(&r->graph);
	free(r);
}

static rg_asr *rg_asr_new(const char *desc) {
	rg_asr *r = calloc(1, sizeof(rg_asr));
	if (!r) return NULL;
	r->graph = avfilter_graph_alloc();
	r->out = av_frame_alloc();
	if (!r->graph || !r->out) { rg_asr_free(r); return NULL; }
	r->graph->nb_threads = 1;
	if (avfilter_graph_parse_ptr(r->graph, desc, NULL, NULL, NULL) < 0 ||
		avfilter_graph_config(r->graph, NULL) < 0) { rg_asr_free(r); return NULL; }
	r->src = avfilter_graph_get_filter(r->graph, "abuffer@in");
	r->sink = avfilter_graph_get_filter(r->graph, "abuffersink@out");
	if (!r->src || !r->sink) { rg_asr_free(r); return NULL; }
	return r;
}

// rg_asr_push feeds n samples; then the texts of utterances that ended go
// to texts (up to max, each malloc'd, the caller frees them). It returns
// how many, or a negative AVERROR.
static int rg_asr_push(rg_asr *r, const int16_t *pcm, int n, char **texts, int max) {
	AVFrame *f = av_frame_alloc();
	if (!f) return AVERROR(ENOMEM);
	f->format = AV_SAMPLE_FMT_S16;
	f->sample_rate = 16000;
	f->nb_samples = n;
	av_channel_layout_default(&f->ch_layout, 1);
	int err = av_frame_get_buffer(f, 0);
	if (err < 0) { av_frame_free(&f); return err; }
	memcpy(f->data[0], pcm, (size_t)n * 2);
	f->pts = r->pts;
	r->pts += n;
	err = av_buffersrc_add_frame(r->src, f);
	av_frame_free(&f);
	if (err < 0) return err;
	int got = 0;
	for (;;) {
		err = av_buffersink_get_frame(r->sink, r->out);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
		if (err < 0) return err;
		AVDictionaryEntry *e = av_dict_get(r->out->metadata, "lavfi.asr.text", NULL, 0);
		if (e && got < max) texts[got++] = strdup(e->value ? e->value : "");
		av_frame_unref(r->out);
	}
	return got;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// ErrNoASR: this FFmpeg was built without pocketsphinx, or the model it
// reads is missing.
var ErrNoASR = errors.New("av: this FFmpeg has no asr filter (built without pocketsphinx)")

// RecognizerRate is the only sample rate the recognizer takes (mono).
const RecognizerRate = 16000

// DefaultSphinxModel is where Debian's pocketsphinx-en-us puts the US
// English acoustic model that the asr filter reads by default.
const DefaultSphinxModel = "/usr/share/pocketsphinx/model/en-us/en-us"

// RecognizerOptions name the pocketsphinx model files; empty ones are the
// filter's defaults (Debian's pocketsphinx-en-us).
type RecognizerOptions struct {
	HMM, Dict, LM string
}

// Recognizer is one FFmpeg asr filter (pocketsphinx) over 16 kHz mono
// PCM. pocketsphinx's own endpointer closes an utterance after about half
// a second of silence; only then does text come out. Not safe for
// concurrent use.
type Recognizer struct {
	r *C.rg_asr
}

// recognizerInit serializes making recognizers: pocketsphinx reads its
// model files and sets up its logging in global state.
var recognizerInit sync.Mutex

// NewRecognizer makes a recognizer, or returns ErrNoASR where this FFmpeg
// cannot recognize speech.
func NewRecognizer(o RecognizerOptions) (*Recognizer, error) {
	if astiav.FindFilterByName("asr") == nil {
		return nil, ErrNoASR
	}
	desc := fmt.Sprintf("abuffer@in=sample_rate=%d:sample_fmt=s16:channel_layout=mono:time_base=1/%d,asr=rate=%d:logfn=/dev/null",
		RecognizerRate, RecognizerRate, RecognizerRate)
	hmm := o.HMM
	if hmm == "" {
		hmm = DefaultSphinxModel
	}
	for _, f := range []struct{ name, path string }{{"hmm", hmm}, {"dict", o.Dict}, {"lm", o.LM}} {
		if f.path == "" {
			continue
		}
		if !safePath.MatchString(f.path) {
			return nil, fmt.Errorf("av: the model path %q needs escaping", f.path)
		}
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("%w: the pocketsphinx model %s is missing (Debian: apt-get install pocketsphinx-en-us): %v", ErrNoASR, f.name, err)
		}
		desc += ":" + f.name + "=" + f.path
	}
	desc += ",abuffersink@out"
	cdesc := C.CString(desc)
	defer C.free(unsafe.Pointer(cdesc))
	recognizerInit.Lock()
	r := C.rg_asr_new(cdesc)
	recognizerInit.Unlock()
	if r == nil {
		return nil, errors.New("av: the asr filter did not start (its pocketsphinx model could not be read)")
	}
	live.Add(1)
	return &Recognizer{r: r}, nil
}

// Push feeds samples and returns the text of each utterance that ended in
// them ("" for one pocketsphinx heard nothing in).
func (r *Recognizer) Push(pcm []int16) ([]string, error) {
	if r.r == nil {
		return nil, errors.New("av: recognizer closed")
	}
	if len(pcm) == 0 {
		return nil, nil
	}
	const most = 8
	var texts [most]*C.char
	n := C.rg_asr_push(r.r, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), &texts[0], most)
	if n < 0 {
		var msg [128]C.char
		C.av_strerror(n, &msg[0], C.size_t(len(msg)))
		return nil, fmt.Errorf("av: asr: %s", C.GoString(&msg[0]))
	}
	out := make([]string, 0, int(n))
	for _, t := range texts[:n] {
		out = append(out, C.GoString(t))
		C.free(unsafe.Pointer(t))
	}
	return out, nil
}

// Close frees the filter and its decoder.
func (r *Recognizer) Close() {
	if r.r != nil {
		C.rg_asr_free(r.r)
		r.r = nil
		live.Add(-1)
	}
}
