package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublishedZipsPass: today's modules, zipped as the release zips them,
// hold no executable and stay within their limits.
func TestPublishedZipsPass(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	proxy := t.TempDir()
	for _, dir := range published {
		require.Contains(t, zipLimits, dir, "every published module has a limit")
		require.NoError(t, addToProxy(proxy, modulePrefix+dir, "v0.0.1", filepath.Join(root, dir)))
		size, err := checkZip(zipPath(proxy, modulePrefix+dir, "v0.0.1"), zipLimits[dir])
		require.NoError(t, err)
		t.Logf("%-12s %4d kB (limit %d kB)", dir, size>>10, zipLimits[dir]>>10)
	}
}

// TestZipCheckRefuses: an executable anywhere, or a zip over its limit.
func TestZipCheckRefuses(t *testing.T) {
	t.Parallel()
	write := func(name string, files map[string][]byte) string {
		path := filepath.Join(t.TempDir(), name)
		f, err := os.Create(path)
		require.NoError(t, err)
		w := zip.NewWriter(f)
		for n, data := range files {
			fw, err := w.Create(n)
			require.NoError(t, err)
			_, err = fw.Write(data)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
		return path
	}
	src := []byte("package x\n")
	for name, binary := range map[string][]byte{
		"elf":   append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}, make([]byte, 64)...),
		"macho": {0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1},
		"pe":    append([]byte("MZ"), make([]byte, 64)...),
	} {
		path := write(name+".zip", map[string][]byte{"m@v1/x.go": src, "m@v1/cmd/tool/tool": binary})
		_, err := checkZip(path, 1<<20)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "m@v1/cmd/tool/tool")
	}
	path := write("ok.zip", map[string][]byte{"m@v1/x.go": src, "m@v1/empty": nil})
	_, err := checkZip(path, 1<<20)
	require.NoError(t, err)
	_, err = checkZip(path, 10)
	require.ErrorContains(t, err, "more than its limit")
}
