package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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
		out, err := g.output(ctx, filepath.Join(root, dir), "run", gorelease, "-base="+prev, "-version="+version)
		fmt.Printf("         %s against %s:\n%s", dir, prev, indent(out))
		if err != nil {
			return fmt.Errorf("%s: the API changes are not allowed in %s: %w", dir, version, err)
		}
	}
	return nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("           " + l + "\n")
	}
	return b.String()
}
