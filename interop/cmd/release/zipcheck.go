package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
)

// zipLimits is the most each published module's zip may weigh, compressed.
// Every module is Go source, docs and a LICENSE; the rehearsal logs what
// each weighs (31–133 kB at v0.1.0). Each limit is about twice that, so a
// module may grow, but a stray binary or recording (megabytes) cannot ride
// along into every user's module cache; raising one is a decision a
// review sees.
var zipLimits = map[string]int64{
	"protocol":    64 << 10,  // 31 kB
	"testserver":  128 << 10, // 64 kB, with the demo page
	"signalling":  128 << 10, // 52 kB
	"peer":        256 << 10, // 133 kB
	"media":       256 << 10, // 108 kB
	"agent":       128 << 10, // 49 kB
	"cmd/metered": 64 << 10,  // 23 kB
}

// executableMagic starts executables of the platforms Go builds for: ELF,
// Mach-O (32 and 64 bit, either byte order, and universal) and PE.
var executableMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
	{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
	{'M', 'Z'},
}

// checkZip refuses a module zip that holds an executable or weighs more
// than limit bytes.
func checkZip(path string, limit int64) (size int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	r, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for _, f := range r.File {
		head, err := fileHead(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.Name, err)
		}
		for _, magic := range executableMagic {
			if bytes.HasPrefix(head, magic) {
				return 0, fmt.Errorf("%s holds an executable: %s (build outputs belong in .gitignore, not in a module)", path, f.Name)
			}
		}
	}
	if st.Size() > limit {
		return st.Size(), fmt.Errorf("%s weighs %d kB, more than its limit of %d kB: look for files that need not ship", path, st.Size()>>10, limit>>10)
	}
	return st.Size(), nil
}

func fileHead(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(rc, head)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return head[:n], err
}
