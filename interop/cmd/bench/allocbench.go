package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// allocResult is the medians of BenchmarkReceive in signalling: allocations
// per received message for the client and for the bare gorilla read.
type allocResult struct {
	runs         int
	client, bare float64
}

var allocLine = regexp.MustCompile(`^BenchmarkReceive/(client|gorilla)-\d+\s.*\s([\d.]+) allocs/op`)

func benchAllocs(root string, runs int) (allocResult, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkReceive$", "-benchtime", "20000x", "-count", strconv.Itoa(runs), ".")
	cmd.Dir = filepath.Join(root, "signalling")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return allocResult{}, fmt.Errorf("signalling benchmarks: %w", err)
	}
	got := map[string][]float64{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := allocLine.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			got[m[1]] = append(got[m[1]], v)
		}
	}
	if len(got["client"]) == 0 || len(got["gorilla"]) == 0 {
		return allocResult{}, fmt.Errorf("signalling benchmarks: no allocs/op in:\n%s", out)
	}
	return allocResult{runs: runs, client: spreadOf(got["client"]).med, bare: spreadOf(got["gorilla"]).med}, nil
}
