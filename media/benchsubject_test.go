package media

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"time"
)

// benchSubjectEnv names a file for this test binary to play as fast as it
// goes (tracks unbound, the SDK's own work: demux, and decode plus encode
// when the file's codecs need it) and then exit, instead of running tests:
// the process make bench measures whole, as it measures the ffmpeg CLI
// doing the same work.
const benchSubjectEnv = "MEDIA_BENCH_PLAY"

// benchSubject plays the file and prints one JSON line: the wall time and
// the encoders' settings, for the baseline to use the same.
func benchSubject(file string) int {
	if path := os.Getenv("MEDIA_BENCH_CPUPROFILE"); path != "" { // for looking into a result
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	p, err := FromFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Close()
	p.speed = 1e6
	realTime := os.Getenv("MEDIA_BENCH_REALTIME") != ""
	var sent []time.Time // when each video sample was written
	if realTime {        // at the file's own pace: how far behind does video fall?
		p.speed = 0
		if p.video != nil {
			p.video.onSample = func([]byte) { sent = append(sent, time.Now()) }
		}
	}
	start := time.Now()
	if err := p.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-p.Done()
	if err := p.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := map[string]any{"wallMicros": time.Since(start).Microseconds()}
	if len(sent) > 0 {
		// Frame n is due 1/30 s after frame n-1 (the test files are 30 fps
		// from 0): lateness is the whole of reading, reordering, decoding
		// and encoding it.
		late := make([]float64, len(sent))
		for n, at := range sent {
			late[n] = float64(at.Sub(start)-time.Duration(n)*time.Second/30) / float64(time.Millisecond)
		}
		sort.Float64s(late)
		out["videoLateMs"] = []float64{late[len(late)/2], late[len(late)-1]}
	}
	if p.Video != nil {
		s := p.Video.Sending()
		out["video"], out["videoBitrate"] = s.MimeType, s.TargetBitrate
	}
	if p.Audio != nil {
		s := p.Audio.Sending()
		out["audio"], out["audioBitrate"] = s.MimeType, s.TargetBitrate
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	return 0
}
