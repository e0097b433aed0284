package av

/*
#include <string.h>
#include <libavcodec/avcodec.h>

// rg_packet_copy copies p's payload into dst when it fits in n bytes, and
// returns its size either way; -1 when p has no payload.
static int rg_packet_copy(AVPacket *p, uint8_t *dst, int n) {
	if (p->data == NULL) return -1;
	if (p->size > 0 && p->size <= n) memcpy(dst, p->data, p->size);
	return p->size;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// payloadReader copies a packet's payload into one buffer it keeps from
// packet to packet. go-astiav's Packet.Data copies each payload into a new
// Go slice: ten minutes of 720p are 120 MB of garbage that way, and its
// allocation and collection were over a quarter of a passthrough player's
// CPU.
type payloadReader struct {
	c   *C.AVPacket // the same C allocation for the packet's whole life
	buf []byte
}

func newPayloadReader(pkt *astiav.Packet) *payloadReader {
	return &payloadReader{c: (*C.AVPacket)(cPointer(pkt))}
}

// read returns the packet's payload, valid until the next read: nil when
// it has none, as go-astiav's Data.
func (r *payloadReader) read() []byte {
	n := int(C.rg_packet_copy(r.c, r.bufPointer(), C.int(len(r.buf))))
	if n < 0 {
		return nil
	}
	if n > len(r.buf) || r.buf == nil {
		r.buf = make([]byte, max(n, 2*len(r.buf), 4096))
		C.rg_packet_copy(r.c, r.bufPointer(), C.int(len(r.buf)))
	}
	return r.buf[:n]
}

func (r *payloadReader) bufPointer() *C.uint8_t {
	if len(r.buf) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&r.buf[0]))
}
