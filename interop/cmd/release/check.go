package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/metered-ca/realtime-go/testserver"
)

// check is the release rehearsal: the published modules, zipped from the
// working tree at version as the Go module proxy serves them, are fetched
// by fresh modules outside the checkout (GOWORK=off) through a file-based
// GOPROXY, built and run.
func check(ctx context.Context, root, version string) error {
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if err := checkModFiles(root, version); err != nil {
		return err
	}
	if err := checkLicenses(root); err != nil {
		return err
	}
	step("go.mod files require their siblings at %s, no replace; LICENSE copies identical", version)

	work, err := os.MkdirTemp("", "realtime-go-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	proxy := filepath.Join(work, "proxy")
	var sizes []string
	for _, dir := range published {
		if err := addToProxy(proxy, modulePrefix+dir, version, filepath.Join(root, dir)); err != nil {
			return fmt.Errorf("zipping %s: %w", dir, err)
		}
		size, err := checkZip(zipPath(proxy, modulePrefix+dir, version), zipLimits[dir])
		if err != nil {
			return err
		}
		sizes = append(sizes, fmt.Sprintf("%s %d kB", dir, size>>10))
	}
	step("file proxy with %d module zips at %s, no executable, each within its limit (%s)", len(published), version, strings.Join(sizes, ", "))

	g, err := newGoEnv(root, work, proxy)
	if err != nil {
		return err
	}
	bin := filepath.Join(work, "bin")
	if err := g.run(ctx, work, "install", modulePrefix+"testserver/cmd/rms-local@"+version); err != nil {
		return err
	}
	step("go install …/testserver/cmd/rms-local@%s", version)
	url, stopServer, err := startRMSLocal(ctx, filepath.Join(bin, "rms-local"), work)
	if err != nil {
		return err
	}
	defer stopServer()
	step("rms-local serving %s", url)

	// A signalling-only user: no cgo, no pion.
	sig := filepath.Join(work, "sigonly")
	if err := g.newModule(ctx, sig, signallingOnlyProgram, version, "signalling"); err != nil {
		return err
	}
	deps, err := g.output(ctx, sig, "list", "-deps", ".")
	if err != nil {
		return err
	}
	for _, banned := range []string{"github.com/pion/", "github.com/asticode/", "github.com/stretchr/testify", "go.uber.org/goleak"} {
		if strings.Contains(deps, banned) {
			return fmt.Errorf("a signalling-only program depends on %s:\n%s", banned, deps)
		}
	}
	graph, err := g.output(ctx, sig, "list", "-m", "all")
	if err != nil {
		return err
	}
	if err := g.build(ctx, sig, "CGO_ENABLED=0"); err != nil {
		return err
	}
	if out, err := g.exec(ctx, sig, filepath.Join(sig, "app"), url); err != nil || !strings.Contains(out, "subscribed") {
		return fmt.Errorf("the signalling-only program: %v\n%s", err, out)
	}
	step("signalling-only program: go get, tidy, CGO_ENABLED=0 build, ran; no pion, no cgo, no test dependency compiled")
	fmt.Printf("         its module graph: %s\n", strings.Join(strings.Fields(graph)[1:], " "))
	// The siblings' test dependencies are in the module graph; go mod tidy
	// fetches their code to record go.sum lines for `go test all`, and no
	// build compiles it (docs/releasing.md says why we accept that).
	var fetched []string
	for _, testOnly := range []string{"github.com/stretchr/testify", "go.uber.org/goleak"} {
		if zips, _ := filepath.Glob(filepath.Join(work, "modcache", "cache", "download", testOnly, "@v", "*.zip")); len(zips) > 0 {
			fetched = append(fetched, testOnly)
		}
	}
	fmt.Printf("         test-only modules whose code go mod tidy fetched: %v\n", fetched)

	// A peer + media user: a tone through AudioSource, decoded by Frames.
	pm := filepath.Join(work, "peermedia")
	if err := g.newModule(ctx, pm, peerMediaProgram, version, "peer", "media"); err != nil {
		return err
	}
	if err := g.build(ctx, pm); err != nil {
		return err
	}
	out, err := g.exec(ctx, pm, filepath.Join(pm, "app"), url)
	if err != nil || !strings.Contains(out, "heard 440 Hz") {
		return fmt.Errorf("the peer + media program: %v\n%s", err, out)
	}
	step("peer + media program: go get, tidy, build, ran: %s", strings.TrimSpace(lastLine(out)))

	// The CLI, installed and run away from the checkout.
	if err := g.run(ctx, work, "install", modulePrefix+"cmd/metered@"+version); err != nil {
		return err
	}
	page, source, err := serveDemoPage(ctx, filepath.Join(bin, "metered"), work)
	if err != nil {
		return err
	}
	if !strings.Contains(page, testserver.DemoSDKURL) || !strings.Contains(page, testserver.DemoSDKIntegrity) {
		return fmt.Errorf("the installed `metered serve` demo page does not load the pinned SDK %s with its integrity hash", testserver.DemoSDKURL)
	}
	step("go install …/cmd/metered@%s; `metered serve` outside the checkout serves the demo page (%s)", version, source)

	if err := apiChanges(ctx, root, g, proxy, version); err != nil {
		return err
	}
	step("release rehearsal of %s passed", version)
	return nil
}

// checkModFiles: every module requires its siblings at version and no
// published module replaces one.
func checkModFiles(root, version string) error {
	return eachModFile(root, func(dir, path string, f *modfile.File) error {
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, modulePrefix) && r.Mod.Version != version {
				return fmt.Errorf("%s requires %s %s, not %s: run `make release VERSION=%s` or `go run ./interop/cmd/release bump`", path, r.Mod.Path, r.Mod.Version, version, version)
			}
		}
		if isPublished(dir) && len(f.Replace) > 0 {
			return fmt.Errorf("%s has replace directives: a published module may not (go.work glues the checkout)", path)
		}
		return nil
	})
}

// checkLicenses: a module's zip holds only its folder, so each published
// module carries the root LICENSE, byte for byte.
func checkLicenses(root string) error {
	want, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return err
	}
	for _, dir := range published {
		got, err := os.ReadFile(filepath.Join(root, dir, "LICENSE"))
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s/LICENSE is missing or differs from the root LICENSE: copy it", dir)
		}
	}
	return nil
}

// addToProxy writes one module version in the layout of a GOPROXY.
// zipPath is where addToProxy puts a module's zip.
func zipPath(proxy, path, version string) string {
	esc, _ := module.EscapePath(path) // addToProxy refused a path it cannot escape
	return filepath.Join(proxy, esc, "@v", version+".zip")
}

func addToProxy(proxy, path, version, dir string) error {
	esc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(proxy, esc, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(vdir, version+".zip"))
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(f, module.Version{Path: path, Version: version}, dir); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	info, _ := json.Marshal(map[string]string{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	list := filepath.Join(vdir, "list")
	old, _ := os.ReadFile(list)
	for name, data := range map[string][]byte{version + ".mod": mod, version + ".info": info, "list": append(old, version+"\n"...)} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goEnv runs the go command as a user outside the checkout would: no
// workspace, the rehearsal's proxy first, a module cache of its own (so the
// rehearsed versions never reach the real one), binaries in work/bin.
type goEnv struct {
	env []string
	sum []byte // go.sum lines of the checkout's modules, to seed new modules
}

func newGoEnv(root, work, proxy string) (*goEnv, error) {
	real, err := exec.Command("go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(real))
	// The real module cache serves as a second, offline proxy for the
	// third-party modules the checkout already uses.
	chain := "file://" + proxy + ",file://" + filepath.Join(lines[0], "cache", "download") + "," + lines[1]
	env := append(os.Environ(),
		"GOWORK=off", "GOPROXY="+chain, "GONOSUMDB="+strings.TrimSuffix(modulePrefix, "/"),
		"GOMODCACHE="+filepath.Join(work, "modcache"), "GOBIN="+filepath.Join(work, "bin"),
		"GOFLAGS=-modcacherw", "GOTOOLCHAIN=local")
	var sum []byte
	for _, dir := range append(append([]string(nil), published...), unpublished...) {
		b, _ := os.ReadFile(filepath.Join(root, dir, "go.sum"))
		sum = append(sum, b...)
	}
	return &goEnv{env: env, sum: sum}, nil
}

// with returns a copy of g whose environment also sets kv ("KEY=value"),
// which win over g's own.
func (g *goEnv) with(kv ...string) *goEnv {
	return &goEnv{env: append(append([]string(nil), g.env...), kv...), sum: g.sum}
}

func (g *goEnv) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = g.env
	return cmd
}

func (g *goEnv) run(ctx context.Context, dir string, args ...string) error {
	_, err := g.output(ctx, dir, args...)
	return err
}

func (g *goEnv) output(ctx context.Context, dir string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := g.command(ctx, dir, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// newModule makes a module at dir holding program, and adds the given
// realtime-go modules at version with go get, then go mod tidy.
func (g *goEnv) newModule(ctx context.Context, dir, program, version string, mods ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644); err != nil {
		return err
	}
	if err := g.run(ctx, dir, "mod", "init", "example.com/"+filepath.Base(dir)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), g.sum, 0o644); err != nil {
		return err
	}
	get := []string{"get"}
	for _, m := range mods {
		get = append(get, modulePrefix+m+"@"+version)
	}
	if err := g.run(ctx, dir, get...); err != nil {
		return err
	}
	return g.run(ctx, dir, "mod", "tidy")
}

func (g *goEnv) build(ctx context.Context, dir string, env ...string) error {
	cmd := g.command(ctx, dir, "build", "-o", "app", ".")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, out)
	}
	return nil
}

func (g *goEnv) exec(ctx context.Context, dir, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startRMSLocal runs the installed rms-local on a free loopback port.
func startRMSLocal(ctx context.Context, bin, dir string) (string, func(), error) {
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("rms-local printed no address: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), stop, nil
}

var demoURL = regexp.MustCompile(`demo page: (http://\S+)`)

// serveDemoPage runs `metered serve` from dir, far from any npm install,
// and returns its demo page and the SDK source the server announced.
func serveDemoPage(ctx context.Context, bin, dir string) (page, source string, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "-addr", "127.0.0.1:0")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stderr)
	var said []string
	for lines.Scan() {
		said = append(said, lines.Text())
		if m := demoURL.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			resp, err := http.Get(m[1])
			if err != nil {
				return "", "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return "", "", fmt.Errorf("GET %s: %d %v", m[1], resp.StatusCode, err)
			}
			return string(b), strings.Join(said, "; "), nil
		}
	}
	return "", "", errors.New("`metered serve` announced no demo page: " + strings.Join(said, "; "))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
