package av

/*
#cgo pkg-config: libavcodec vpx
#include <libavcodec/avcodec.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// rg_set_rate asks a running video encoder for a new rate, keeping its
// stream: the CBR settings it was opened with (maxrate = bufsize =
// bitrate; minrate too for libvpx) follow the new rate. FFmpeg's libx264
// wrapper compares these fields with x264's before every frame and
// reconfigures x264 in place. Its libvpx wrapper reads them only when it
// opens, so libvpx is told directly: the wrapper's private context starts
// with its AVClass pointer and then libvpx's codec context, which is
// checked to be a VP8 encoder before it is touched. Returns 0 when the
// encoder took the rate, -1 when it cannot be told (re-open it instead).
static int rg_set_rate(AVCodecContext *c, int64_t bps) {
	switch (c->codec_id) {
	case AV_CODEC_ID_H264:
		c->bit_rate = bps;
		c->rc_max_rate = bps;
		c->rc_buffer_size = (int)bps;
		return 0;
	case AV_CODEC_ID_VP8: {
		if (c->priv_data == NULL) return -1;
		vpx_codec_ctx_t *enc = (vpx_codec_ctx_t *)((char *)c->priv_data + sizeof(void *));
		if (enc->iface != vpx_codec_vp8_cx() || enc->config.enc == NULL) return -1;
		vpx_codec_enc_cfg_t cfg = *enc->config.enc;
		cfg.rc_target_bitrate = (unsigned int)((bps + 500) / 1000);
		if (vpx_codec_enc_config_set(enc, &cfg) != VPX_CODEC_OK) return -1;
		c->bit_rate = bps;
		c->rc_max_rate = bps;
		c->rc_min_rate = bps;
		c->rc_buffer_size = (int)bps;
		return 0;
	}
	default:
		return -1;
	}
}

static int rg_codec_width(AVCodecContext *c) { return c->width; }
*/
import "C"

import "github.com/asticode/go-astiav"

func codecWidth(cc *astiav.CodecContext) int {
	return int(C.rg_codec_width((*C.AVCodecContext)(cPointer(cc))))
}

// setRateInPlace asks the running encoder for bps without a new stream;
// false when this encoder cannot be told (Opus, or a libvpx whose wrapper
// is not laid out as expected).
func (e *Encoder) setRateInPlace(bps int) bool {
	return C.rg_set_rate((*C.AVCodecContext)(cPointer(e.cc)), C.int64_t(bps)) == 0
}
