package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// gorelease reports API changes between two versions of a module; pinned,
// so that the check is the same on every machine.
const gorelease = "golang.org/x/exp/cmd/gorelease@v0.0.0-20261113113407-e3970619a1a4"

// tag creates the annotated tags of one lockstep release, <dir>/VERSION for
// every published module, on HEAD. Pushing them is the maintainer's step.
func tag(ctx context.Context, root, version string) error {
	if out, err := git(ctx, root, "status", "--porcelain"); err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("the working tree is not clean: commit the bump first\n%s", out)
	}
	for _, dir := range published {
		name := dir + "/" + version
		if _, err := git(ctx, root, "tag", "-a", name, "-m", "realtime-go "+dir+" "+version); err != nil {
			return err
		}
		fmt.Println("tagged", name)
	}
	fmt.Printf("push with: git push origin %s\n", strings.Join(tagNames(version), " "))
	return nil
}

func tagNames(version string) []string {
	var out []string
	for _, dir := range published {
		out = append(out, dir+"/"+version)
	}
	return out
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// previousVersion is the highest release tagged before version ("" when
// there is none), read from the tags of the first published module.
func previousVersion(ctx context.Context, root, version string) (string, error) {
	out, err := git(ctx, root, "tag", "--list", published[0]+"/v*")
	if err != nil {
		return "", err
	}
	prev := ""
	for _, t := range strings.Fields(out) {
		v := strings.TrimPrefix(t, published[0]+"/")
		if semver.IsValid(v) && semver.Compare(v, version) < 0 && (prev == "" || semver.Compare(v, prev) > 0) {
			prev = v
		}
	}
	return prev, nil
}

// apiChanges compares the API of every published module with the previous
// release, when there is one: the previous release's tree goes into the
// rehearsal's proxy too, and gorelease reports what changed and fails on a
// change that version does not allow (an incompatible change in a patch
// release, or after v1).
func apiChanges(ctx context.Context, root string, g *goEnv, proxy, version string) error {
	prev, err := previousVersion(ctx, root, version)
	if err != nil {
		return err
	}
	if prev == "" {
		fmt.Println("         no earlier release tag: no API to compare with (the first release)")
		return nil
	}
	old, err := os.MkdirTemp("", "realtime-go-prev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(old)
	for _, dir := range published {
		dst := filepath.Join(old, dir)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		archive := exec.CommandContext(ctx, "sh", "-c", `git archive "$1" "$2" | tar -x -C "$3"`, "sh", dir+"/"+prev, dir, old)
		archive.Dir = root
		if out, err := archive.CombinedOutput(); err != nil {
			return fmt.Errorf("extracting %s/%s: %w\n%s", dir, prev, err, out)
		}
		if err := addToProxy(proxy, modulePrefix+dir, prev, dst); err != nil {
			return err
		}
	}
	for _, dir := range published {
		// gorelease refuses a repository with uncommitted changes, and a
		// release is rehearsed before its bump is committed: compare a
		// copy of the module, outside any repository.
		cur := filepath.Join(old, "current", dir)
		// It also refuses a version the proxy already has: compare
		// through a proxy holding everything but this module at version,
		// with a module cache that has not seen it either.
		hidden, err := hideVersion(proxy, modulePrefix+dir, version)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(cur), 0o755); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, "cp", "-R", filepath.Join(root, dir), cur).CombinedOutput(); err != nil {
			return fmt.Errorf("copying %s: %w\n%s", dir, err, out)
		}
		ge := g.with("GOMODCACHE=" + filepath.Join(old, "modcache-"+strings.ReplaceAll(dir, "/", "-")))
		// The checkout's go.sum has no lines for the siblings at version
		// (go.work needs none): tidy adds them, as a release's would.
		out, err := ge.output(ctx, cur, "mod", "tidy")
		if err == nil {
			out, err = ge.output(ctx, cur, "run", gorelease, "-base="+prev, "-version="+version)
		}
		if rerr := hidden.restore(); rerr != nil {
			return rerr
		}
		fmt.Printf("         %s against %s:\n%s", dir, prev, indent(out))
		if err != nil {
			return fmt.Errorf("%s: the API changes are not allowed in %s: %w", dir, version, err)
		}
		// gorelease lets a v0 patch release change the API; our policy
		// (docs/releasing.md) does not.
		if semver.MajorMinor(prev) == semver.MajorMinor(version) && strings.Contains(out, "## ") {
			return fmt.Errorf("%s: %s is a patch release, and a patch release never changes the API: release %s instead", dir, version, nextMinor(prev))
		}
	}
	return nil
}

// hidden is a module version taken out of the rehearsal's proxy for a
// while.
type hidden struct {
	dir, version string
	list         []byte
}

func hideVersion(proxy, path, version string) (*hidden, error) {
	esc, err := module.EscapePath(path)
	if err != nil {
		return nil, err
	}
	h := &hidden{dir: filepath.Join(proxy, esc, "@v"), version: version}
	if h.list, err = os.ReadFile(filepath.Join(h.dir, "list")); err != nil {
		return nil, err
	}
	var keep []string
	for _, v := range strings.Fields(string(h.list)) {
		if v != version {
			keep = append(keep, v)
		}
	}
	if err := os.WriteFile(filepath.Join(h.dir, "list"), []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	for _, ext := range []string{".info", ".mod", ".zip"} {
		if err := os.Rename(filepath.Join(h.dir, version+ext), filepath.Join(h.dir, version+ext+".hidden")); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (h *hidden) restore() error {
	for _, ext := range []string{".info", ".mod", ".zip"} {
		if err := os.Rename(filepath.Join(h.dir, h.version+ext+".hidden"), filepath.Join(h.dir, h.version+ext)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(h.dir, "list"), h.list, 0o644)
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("           " + l + "\n")
	}
	return b.String()
}

// nextMinor is the minor release after v (v0.1.3 → v0.2.0).
func nextMinor(v string) string {
	var major, minor int
	fmt.Sscanf(semver.MajorMinor(v), "v%d.%d", &major, &minor)
	return fmt.Sprintf("v%d.%d.0", major, minor+1)
}
