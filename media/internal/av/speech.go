package av

/*
#include <stdlib.h>

static void rg_seed_rand(void) { srand(1); }
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/asticode/go-astiav"
)

// ErrNoFlite: this FFmpeg was built without libflite.
var ErrNoFlite = errors.New("av: this FFmpeg has no flite filter (built without libflite)")

// safePath is a path that needs no escaping in a filter description.
var safePath = regexp.MustCompile(`^[A-Za-z0-9/._-]+$`)

// FliteVoices are the voices flite links in.
var FliteVoices = map[string]bool{"slt": true, "kal": true, "kal16": true, "awb": true, "rms": true}

// fliteMu runs one synthesis at a time: libflite keeps global state (its
// voice list, registered on first use), and FFmpeg 7.1's flite filter
// crashed in two tests synthesizing at once (a segfault in
// avformat_find_stream_info, CI, the FFmpeg 7 lane).
var fliteMu sync.Mutex

// Synthesize speaks the text in textFile with FFmpeg's flite source
// filter and returns its 16-bit PCM and sample rate (mono). cancel, when
// closed, aborts it. Calls run one at a time.
//
// flite draws the noise of unvoiced sounds from the C library's rand(),
// which nothing seeds: the same text came out differently the n-th time
// in a process, and a test's verdict depended on how many syntheses other
// tests had run before it. Each synthesis reseeds it (with glibc's
// default, so every call gives what a fresh process's first did): the
// same text gives the same samples. Other users of rand() in the process
// (libvpx) can still draw between; agents speaking alone do not.
func Synthesize(textFile, voice string, cancel <-chan struct{}) ([]int16, int, error) {
	fliteMu.Lock()
	defer fliteMu.Unlock()
	C.rg_seed_rand()
	if astiav.FindFilterByName("flite") == nil {
		return nil, 0, ErrNoFlite
	}
	if !FliteVoices[voice] {
		return nil, 0, fmt.Errorf("av: flite has no voice %q", voice)
	}
	if !safePath.MatchString(textFile) {
		return nil, 0, fmt.Errorf("av: the text file's path %q needs escaping; set TMPDIR to a plain path", textFile)
	}
	in, err := OpenInput("flite=textfile="+textFile+":voice="+voice, InputOptions{Format: "lavfi", Cancel: cancel})
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	if len(in.Streams()) != 1 || !in.Streams()[0].Audio {
		return nil, 0, errors.New("av: flite gave no audio stream")
	}
	dec, err := in.NewDecoder(0)
	if err != nil {
		return nil, 0, err
	}
	defer dec.Close()
	var pcm []int16
	rate := 0
	emit := func(f *Frame) {
		if f.Channels == 1 {
			pcm = append(pcm, f.PCM...)
			rate = f.SampleRate
		}
	}
	for {
		p, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if err := dec.Decode(p.Data, p.PTS, emit); err != nil {
			return nil, 0, err
		}
	}
	if err := dec.Decode(nil, 0, emit); err != nil {
		return nil, 0, err
	}
	if rate == 0 {
		return nil, 0, errors.New("av: flite gave no audio")
	}
	return pcm, rate, nil
}
