package wsframe

import (
	"bytes"
	"testing"
)

func TestFrameLayout(t *testing.T) {
	if got := Frame(true, 0, Text, []byte("hi"), false); !bytes.Equal(got, []byte{0x81, 2, 'h', 'i'}) {
		t.Fatalf("unmasked: % x", got)
	}
	m := Frame(false, 1, Ping, []byte{0, 0, 0, 0}, true)
	if m[0] != 0x19 || m[1] != 0x84 || !bytes.Equal(m[6:], m[2:6]) {
		t.Fatalf("masked: % x", m) // zeros masked are the key itself
	}
	if long := Frame(true, 0, Binary, make([]byte, 70000), false); long[1] != 127 || len(long) != 10+70000 {
		t.Fatalf("64-bit length: % x", long[:10])
	}
	if mid := Frame(true, 0, Binary, make([]byte, 300), false); mid[1] != 126 || mid[2] != 1 || mid[3] != 44 {
		t.Fatalf("16-bit length: % x", mid[:4])
	}
}
