package av

/*
#cgo pkg-config: libavformat
#include <string.h>
#include <libavformat/avformat.h>

typedef struct {
	int64_t pts, dts, duration;
	int size, flags, stream;
} rg_packet_info;

// rg_read_packet empties p, reads the next packet of f into it, fills
// info (size -1: no payload) and, when the payload fits in n bytes,
// copies it to dst. Returns av_read_frame's result.
static int rg_read_packet(AVFormatContext *f, AVPacket *p, uint8_t *dst, int n, rg_packet_info *info) {
	av_packet_unref(p);
	int err = av_read_frame(f, p);
	if (err < 0) return err;
	info->pts = p->pts;
	info->dts = p->dts;
	info->duration = p->duration;
	info->flags = p->flags;
	info->stream = p->stream_index;
	info->size = p->data == NULL ? -1 : p->size;
	if (p->data != NULL && p->size > 0 && p->size <= n) memcpy(dst, p->data, p->size);
	return 0;
}

static void rg_packet_copy(AVPacket *p, uint8_t *dst) {
	if (p->data != NULL && p->size > 0) memcpy(dst, p->data, p->size);
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// packetReader reads an input's packets with one C call each and copies
// every payload into one buffer it keeps from packet to packet. Through
// go-astiav a packet took eight calls (unref, read, five fields, the
// payload), and Packet.Data copies each payload into a new Go slice: ten
// minutes of 720p are 120 MB of garbage that way, whose allocation and
// collection were over a quarter of a passthrough player's CPU.
type packetReader struct {
	fc   *C.AVFormatContext
	pkt  *C.AVPacket // the Demuxer's packet: the bit-stream filters read it too
	buf  []byte
	info C.rg_packet_info
}

func newPacketReader(fc *astiav.FormatContext, pkt *astiav.Packet) *packetReader {
	return &packetReader{fc: (*C.AVFormatContext)(cPointer(fc)), pkt: (*C.AVPacket)(cPointer(pkt))}
}

// read reads the next packet; its Data is valid until the next read.
func (r *packetReader) read() (Packet, error) {
	if ret := C.rg_read_packet(r.fc, r.pkt, r.bufPointer(), C.int(len(r.buf)), &r.info); ret < 0 {
		return Packet{}, astiav.Error(ret)
	}
	p := Packet{PTS: int64(r.info.pts), DTS: int64(r.info.dts), Duration: int64(r.info.duration),
		Key: r.info.flags&C.AV_PKT_FLAG_KEY != 0, Stream: int(r.info.stream)}
	n := int(r.info.size)
	if n < 0 {
		return p, nil
	}
	if n > len(r.buf) || r.buf == nil {
		r.buf = make([]byte, max(n, 2*len(r.buf), 4096))
		C.rg_packet_copy(r.pkt, r.bufPointer())
	}
	p.Data = r.buf[:n]
	return p, nil
}

func (r *packetReader) bufPointer() *C.uint8_t {
	if len(r.buf) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&r.buf[0]))
}
