// Command vulncheck runs govulncheck over the project's modules against an
// offline vulnerability database and holds the findings at zero.
//
// The database is built from the golang.org/x/vulndb module, which the Go
// module proxy serves (nothing here reaches vuln.go.dev): its OSV reports
// are indexed by vulndb's own indexdb command into a v1 database under
// the cache directory, once per vulndb version.
//
// A finding is a vulnerable function the code can reach. One in a module
// (ours or a dependency) fails the check. One in the standard library is
// the Go toolchain's, not the code's: it is printed with the Go release
// that fixes it, and fails the check only with -strict-stdlib, since a
// machine's Go is not something a module can raise.
//
//	vulncheck -tools bin -vulndb golang.org/x/vulndb@VERSION protocol signalling …
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	tools := flag.String("tools", "bin", "directory holding govulncheck and indexdb")
	vulndb := flag.String("vulndb", "", "the golang.org/x/vulndb module version to build the database from (path@version)")
	cache := flag.String("cache", "", "where databases are kept (default: the user cache directory)")
	strict := flag.Bool("strict-stdlib", false, "fail on findings in the standard library too")
	flag.Parse()
	if *vulndb == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: vulncheck -vulndb golang.org/x/vulndb@VERSION [-tools DIR] MODULE_DIR…")
		os.Exit(2)
	}
	toolDir, err := filepath.Abs(*tools)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
	db, err := database(toolDir, *vulndb, *cache)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
	failed := false
	stdlib := map[string]finding{}
	var ids []string
	for _, dir := range flag.Args() {
		fs, err := scan(filepath.Join(toolDir, "govulncheck"), db, dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vulncheck: %s: %v\n", dir, err)
			os.Exit(1)
		}
		var mods, std []finding
		for _, f := range fs {
			if f.module == "stdlib" || f.module == "toolchain" {
				std = append(std, f)
			} else {
				mods = append(mods, f)
			}
		}
		fmt.Printf("%-12s %d reachable in modules, %d in the standard library of %s\n", dir, len(mods), len(std), goVersion(std))
		for _, f := range mods {
			fmt.Printf("  %s in %s@%s (%s), fixed in %s\n", f.id, f.module, f.version, f.symbol, f.fixed)
			failed = true
		}
		for _, f := range std {
			if _, ok := stdlib[f.id]; !ok {
				stdlib[f.id] = f
				ids = append(ids, f.id)
			}
			failed = failed || *strict
		}
	}
	// The standard library's findings are the toolchain's: once, for all.
	sort.Strings(ids)
	for _, id := range ids {
		f := stdlib[id]
		fmt.Printf("standard library: %s (%s), fixed in Go %s: build with it\n", f.id, f.symbol, strings.TrimPrefix(f.fixed, "v"))
	}
	if failed {
		os.Exit(1)
	}
}

// database returns the file:// URL of the v1 database built from vulndb,
// building it when the cache has none for that version.
func database(tools, vulndb, cache string) (string, error) {
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(dir, "realtime-go")
	}
	_, version, ok := strings.Cut(vulndb, "@")
	if !ok {
		return "", fmt.Errorf("-vulndb %q: want path@version", vulndb)
	}
	out := filepath.Join(cache, "vulndb-"+version)
	if _, err := os.Stat(filepath.Join(out, "index", "db.json")); err == nil {
		return "file://" + out, nil
	}
	var dl struct{ Dir, Error string }
	b, err := exec.Command("go", "mod", "download", "-json", vulndb).Output()
	if jerr := json.Unmarshal(b, &dl); jerr != nil || dl.Dir == "" {
		return "", fmt.Errorf("downloading %s: %v %s", vulndb, err, dl.Error)
	}
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	build := exec.Command(filepath.Join(tools, "indexdb"), "-vulns", filepath.Join(dl.Dir, "data", "osv"), "-out", tmp)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("indexing %s: %w", vulndb, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	fmt.Printf("vulnerability database built from %s\n", vulndb)
	return "file://" + out, nil
}

type finding struct {
	id, module, version, symbol, fixed string
}

// scan runs govulncheck on a module and returns the findings whose
// vulnerable function the code reaches.
func scan(govulncheck, db, dir string) ([]finding, error) {
	cmd := exec.Command(govulncheck, "-db", db, "-format", "json", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fs, perr := parse(stdout)
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || len(fs) == 0 {
			return nil, fmt.Errorf("%w: %s", err, stderr.String())
		}
	}
	return fs, perr
}

// parse reads govulncheck's JSON stream: one finding per vulnerability,
// named by the first of its reachable symbols.
func parse(r io.Reader) ([]finding, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	byID := map[string]finding{}
	for {
		var msg struct {
			Finding *struct {
				OSV          string `json:"osv"`
				FixedVersion string `json:"fixed_version"`
				Trace        []struct {
					Module, Version, Package, Function, Receiver string
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if msg.Finding == nil || len(msg.Finding.Trace) == 0 || msg.Finding.Trace[0].Function == "" {
			continue // a vulnerable package or module the code does not call into
		}
		t := msg.Finding.Trace[0]
		sym := t.Package + "." + t.Function
		if t.Receiver != "" {
			sym = t.Package + "." + strings.TrimPrefix(t.Receiver, "*") + "." + t.Function
		}
		f := finding{id: msg.Finding.OSV, module: t.Module, version: t.Version, symbol: sym, fixed: msg.Finding.FixedVersion}
		if had, ok := byID[f.id]; !ok || f.symbol < had.symbol {
			byID[f.id] = f
		}
	}
	out := make([]finding, 0, len(byID))
	for _, f := range byID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

func goVersion(std []finding) string {
	if len(std) > 0 {
		return "go" + strings.TrimPrefix(std[0].version, "v")
	}
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "this Go"
	}
	return strings.TrimSpace(string(out))
}
