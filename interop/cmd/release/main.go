// Command release keeps realtime-go's modules releasable in lockstep: one
// version (the VERSION file at the repository's root) for every published
// module, each requiring its siblings at that version, with no replace
// directives (go.work glues the checkout for development).
//
//	go run ./interop/cmd/release bump [VERSION]   set VERSION and every inter-module require
//	go run ./interop/cmd/release check            the release rehearsal (make release-check)
//	go run ./interop/cmd/release tag              annotated <dir>/VERSION tags, local only
//
// See docs/releasing.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// modulePrefix is the path every module of the repository shares.
const modulePrefix = "github.com/metered-ca/realtime-go/"

// published are the modules users depend on, in dependency order; the
// others (examples, interop) are development only and keep their replace
// directives so that they also build without go.work.
var (
	published   = []string{"protocol", "testserver", "signalling", "peer", "media", "agent", "cmd/metered"}
	unpublished = []string{"examples", "interop"}
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return errors.New("usage: release bump [VERSION] | check | tag")
	}
	switch args[0] {
	case "bump":
		version, err := readVersion(root)
		if len(args) > 1 {
			version, err = args[1], nil
		}
		if err != nil {
			return err
		}
		return bump(root, version)
	case "check":
		version, err := readVersion(root)
		if err != nil {
			return err
		}
		return check(ctx, root, version)
	case "tag":
		version, err := readVersion(root)
		if err != nil {
			return err
		}
		return tag(ctx, root, version)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// repoRoot is the folder holding go.work, found from the working
// directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory: run from the checkout")
		}
		dir = parent
	}
}

// readVersion reads the VERSION file: the one place the release version
// is written.
func readVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	return v, validVersion(v)
}

func validVersion(v string) error {
	if !semver.IsValid(v) || semver.Canonical(v) != v || semver.Prerelease(v) != "" && !strings.HasPrefix(semver.Prerelease(v), "-rc.") {
		return fmt.Errorf("version %q: want a full semantic version such as v0.1.0 (or v0.2.0-rc.1)", v)
	}
	return nil
}

// bump writes version to VERSION and to every require of a sibling, and
// drops the sibling replace directives of the published modules.
func bump(root, version string) error {
	if err := validVersion(version); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	return eachModFile(root, func(dir, path string, f *modfile.File) error {
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, modulePrefix) {
				if err := f.AddRequire(r.Mod.Path, version); err != nil {
					return err
				}
			}
		}
		if isPublished(dir) {
			for _, r := range append([]*modfile.Replace(nil), f.Replace...) {
				if strings.HasPrefix(r.Old.Path, modulePrefix) {
					if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
						return err
					}
				}
			}
		}
		f.Cleanup()
		out, err := f.Format()
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s requires its siblings at %s\n", dir, version)
		return nil
	})
}

// eachModFile parses the go.mod of every module, published or not, and
// hands it to fn.
func eachModFile(root string, fn func(dir, path string, f *modfile.File) error) error {
	for _, dir := range append(append([]string(nil), published...), unpublished...) {
		path := filepath.Join(root, dir, "go.mod")
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(path, data, nil)
		if err != nil {
			return err
		}
		if err := fn(dir, path, f); err != nil {
			return err
		}
	}
	return nil
}

func isPublished(dir string) bool {
	for _, p := range published {
		if p == dir {
			return true
		}
	}
	return false
}
