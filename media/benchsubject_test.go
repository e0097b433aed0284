package media

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
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
