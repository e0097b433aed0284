package docsnippets

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// rewrites change a snippet's text before it runs, where running it as
// written would reach another host.
var rewrites = map[string][2]string{
	"docs/guides/camera-bridge.md#0": {`"rtsp://user:pass@10.0.0.12/stream1"`, `"rtsp://user:pass@" + closedPort() + "/stream1"`},
}

type snippet struct {
	key, code string
}

var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```")

// snippets reads every ```go block of the READMEs and docs/.
func snippets(t *testing.T, root string) []snippet {
	t.Helper()
	// The root README, each published module's (what pkg.go.dev shows), and docs/.
	files := []string{"README.md", "signalling/README.md", "peer/README.md", "media/README.md", "testserver/README.md", "protocol/README.md", "agent/README.md", "cmd/metered/README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []snippet
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range goBlock.FindAllSubmatch(b, -1) {
			out = append(out, snippet{key: fmt.Sprintf("%s#%d", f, i), code: string(m[1])})
		}
	}
	return out
}

// TestDocSnippets compiles every snippet of the docs into one program per
// snippet (one module in a temporary workspace with this checkout's
// modules) and runs each: a framed snippet must print SNIPPET OK (its
// frame's checks passed), a whole program must exit 0.
func TestDocSnippets(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	all := snippets(t, root)
	if len(all) < 9 {
		t.Fatalf("found %d snippets; the docs have more", len(all))
	}
	seen := map[string]bool{}
	work := t.TempDir()
	var mains []string
	whole := map[string]bool{} // snippets that are programs of their own: exit 0 is enough
	for i, s := range all {
		seen[s.key] = true
		frame, ok := frames[s.key]
		if !ok {
			t.Errorf("%s has no frame in frames_test.go: give it one so it is compiled and run", s.key)
			continue
		}
		code := s.code
		if r, ok := rewrites[s.key]; ok {
			if !strings.Contains(code, r[0]) {
				t.Errorf("%s: the rewrite's text %s is gone from the snippet", s.key, r[0])
			}
			code = strings.ReplaceAll(code, r[0], r[1])
		}
		prog := code
		whole[s.key] = frame == ""
		if frame != "" {
			prog = strings.Replace(frame, "{{SNIPPET}}", code, 1)
		}
		dir := filepath.Join(work, fmt.Sprintf("s%02d", i))
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("// "+s.key+"\n\n"+prog), 0o644))
		mains = append(mains, s.key)
	}
	for key := range frames {
		if !seen[key] {
			t.Errorf("frame %s matches no snippet any more: remove it", key)
		}
	}
	if t.Failed() {
		return
	}

	// One module, one workspace: the checkout's modules and this one.
	gomod := "module snippets\n\ngo 1.26.0\n\nrequire (\n"
	for _, m := range []string{"agent", "media", "peer", "signalling", "testserver", "protocol"} {
		gomod += "\tgithub.com/metered-ca/realtime-go/" + m + " v0.0.0\n"
	}
	gomod += "\tgithub.com/pion/webrtc/v4 " + pionVersion(t, root) + "\n)\n"
	must(t, os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644))
	gowork := "go 1.26.0\n\nuse (\n\t.\n"
	for _, m := range []string{"agent", "media", "peer", "signalling", "testserver", "protocol", "examples"} {
		gowork += "\t" + filepath.Join(root, m) + "\n"
	}
	gowork += ")\n" + activeReplaces(t)
	must(t, os.WriteFile(filepath.Join(work, "go.work"), []byte(gowork), 0o644))
	if sum, err := os.ReadFile(filepath.Join(root, "go.work.sum")); err == nil {
		must(t, os.WriteFile(filepath.Join(work, "go.work.sum"), sum, 0o644))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin := filepath.Join(work, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-tags", buildTags, "-o", bin+"/", "./...")
	build.Dir = work
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(work, "go.work"), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the snippets do not compile:\n%s", out)
	}
	for i, key := range mains {
		t.Run(key, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			run := exec.CommandContext(ctx, filepath.Join(bin, fmt.Sprintf("s%02d", i)))
			run.Dir = t.TempDir()
			var out bytes.Buffer
			run.Stdout, run.Stderr = &out, &out
			err := run.Run()
			if err != nil || !whole[key] && !strings.Contains(out.String(), "SNIPPET OK") {
				t.Fatalf("%s: %v\n%s", key, err, out.String())
			}
		})
	}
}

// pionVersion is the pion/webrtc version the peer module requires.
func pionVersion(t *testing.T, root string) string {
	b, err := os.ReadFile(filepath.Join(root, "peer", "go.mod"))
	must(t, err)
	m := regexp.MustCompile(`github.com/pion/webrtc/v4 (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("peer/go.mod does not require pion/webrtc")
	}
	return string(m[1])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// activeReplaces are the replace directives of the workspace this test
// runs in (the FFmpeg 7 lane's raises go-astiav), for the snippets' own.
func activeReplaces(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	must(t, err)
	b, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		return ""
	}
	var replaces string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "replace ") {
			replaces += line + "\n"
		}
	}
	return replaces
}
