package media

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// rtspCamera is a minimal RTSP server for tests: it serves one generated
// MP4 (H.264 + AAC) as a live camera would, over TCP-interleaved or UDP RTP,
// looping, paced in real time. Drop cuts every session; Close also stops
// accepting, so a client's reconnects fail.
type rtspCamera struct {
	t    *testing.T
	file string
	ln   net.Listener
	mu   sync.Mutex
	conn map[net.Conn]bool
	wg   sync.WaitGroup
	// Plays counts PLAY requests (a reconnect plays again).
	plays int
}

func newRTSPCamera(t *testing.T, file string) *rtspCamera {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &rtspCamera{t: t, file: file, ln: ln, conn: map[net.Conn]bool{}}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(c.Close)
	return c
}

func (c *rtspCamera) URL() string { return "rtsp://" + c.ln.Addr().String() + "/cam" }

func (c *rtspCamera) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conn[conn] = true
		c.mu.Unlock()
		c.wg.Add(1)
		go c.serve(conn)
	}
}

// Drop closes every open session.
func (c *rtspCamera) Drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.conn {
		_ = conn.Close()
	}
}

func (c *rtspCamera) Close() {
	_ = c.ln.Close()
	c.Drop()
	c.wg.Wait()
}

func (c *rtspCamera) Plays() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plays
}

// source opens the file with H.264 in Annex B form.
func (c *rtspCamera) source() (*av.Demuxer, int, int) {
	d, err := av.OpenInput(c.file, av.InputOptions{Protocols: "file"})
	require.NoError(c.t, err)
	video, audio := -1, -1
	for _, s := range d.Streams() {
		switch {
		case s.Codec == av.CodecH264:
			video = s.Index
		case s.Codec == av.CodecAAC:
			audio = s.Index
		}
	}
	require.NoError(c.t, d.AnnexB(video))
	return d, video, audio
}

func (c *rtspCamera) sdp() string {
	d, video, audio := c.source()
	defer d.Close()
	var sps, pps []byte
	for {
		p, err := d.Read()
		require.NoError(c.t, err)
		if p.Stream == video && p.Key {
			h264NALs(p.Data, func(nal []byte) {
				switch nal[0] & 0x1f {
				case 7:
					sps = nal
				case 8:
					pps = nal
				}
			})
			break
		}
	}
	a := d.Streams()[audio]
	return "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=camera\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
		fmt.Sprintf("a=fmtp:96 packetization-mode=1;profile-level-id=%x;sprop-parameter-sets=%s,%s\r\n", sps[1:4],
			base64.StdEncoding.EncodeToString(sps), base64.StdEncoding.EncodeToString(pps)) +
		"a=control:trackID=0\r\n" +
		fmt.Sprintf("m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/%d/%d\r\n", a.SampleRate, a.Channels) +
		fmt.Sprintf("a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=%s\r\n", hex.EncodeToString(a.Extradata)) +
		"a=control:trackID=1\r\n"
}

var interleavedRE = regexp.MustCompile(`interleaved=(\d+)-(\d+)`)
var clientPortRE = regexp.MustCompile(`client_port=(\d+)-(\d+)`)

func (c *rtspCamera) serve(conn net.Conn) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.conn, conn)
		c.mu.Unlock()
		_ = conn.Close()
	}()
	r := textproto.NewReader(bufio.NewReader(conn))
	var wmu sync.Mutex
	channels := map[int]func([]byte) error{} // track -> RTP sender
	stop := make(chan struct{})
	defer close(stop)
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		if line == "" {
			continue
		}
		method := strings.Fields(line)[0]
		h, err := r.ReadMIMEHeader()
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
			_, _ = io.CopyN(io.Discard, r.R, int64(n))
		}
		extra, body := "", ""
		switch method {
		case "OPTIONS":
			extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"
		case "DESCRIBE":
			body = c.sdp()
			extra = "Content-Type: application/sdp\r\nContent-Base: " + c.URL() + "/\r\n"
		case "SETUP":
			track := 0
			if strings.Contains(line, "trackID=1") {
				track = 1
			}
			tr := h.Get("Transport")
			if m := interleavedRE.FindStringSubmatch(tr); m != nil {
				ch, _ := strconv.Atoi(m[1])
				channels[track] = func(pkt []byte) error {
					wmu.Lock()
					defer wmu.Unlock()
					hdr := []byte{'$', byte(ch), 0, 0}
					binary.BigEndian.PutUint16(hdr[2:], uint16(len(pkt)))
					_, err := conn.Write(append(hdr, pkt...))
					return err
				}
				extra = "Transport: RTP/AVP/TCP;unicast;interleaved=" + m[1] + "-" + m[2] + "\r\n"
			} else if m := clientPortRE.FindStringSubmatch(tr); m != nil {
				udp, err := net.Dial("udp", "127.0.0.1:"+m[1])
				require.NoError(c.t, err)
				defer udp.Close()
				channels[track] = func(pkt []byte) error { _, err := udp.Write(pkt); return err }
				local := udp.LocalAddr().(*net.UDPAddr).Port
				extra = fmt.Sprintf("Transport: RTP/AVP;unicast;client_port=%s-%s;server_port=%d-%d\r\n", m[1], m[2], local, local+1)
			}
			extra += "Session: 12345678\r\n"
		case "PLAY":
			extra = "Session: 12345678\r\n"
			c.mu.Lock()
			c.plays++
			c.mu.Unlock()
		}
		resp := "RTSP/1.0 200 OK\r\nCSeq: " + h.Get("CSeq") + "\r\n" + extra
		if body != "" {
			resp += fmt.Sprintf("Content-Length: %d\r\n", len(body))
		}
		wmu.Lock()
		_, err = io.WriteString(conn, resp+"\r\n"+body)
		wmu.Unlock()
		if err != nil {
			return
		}
		if method == "PLAY" {
			c.wg.Add(1)
			go c.stream(channels, stop)
		}
	}
}

// stream sends the file as RTP, in real time, looping, until stop.
func (c *rtspCamera) stream(send map[int]func([]byte) error, stop chan struct{}) {
	defer c.wg.Done()
	d, video, audio := c.source()
	defer d.Close()
	vp := rtp.NewPacketizer(1200, 96, 0x1234, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	aSeq := uint16(7)
	rate := d.Streams()[audio].SampleRate
	start := time.Now()
	var offset, end time.Duration
	for {
		p, err := d.Read()
		if errors.Is(err, io.EOF) {
			require.NoError(c.t, d.Rewind())
			offset = end + 20*time.Millisecond
			continue
		}
		if err != nil {
			return
		}
		at := offset + d.Time(p.Stream, p.PTS)
		end = max(end, at)
		select {
		case <-time.After(time.Until(start.Add(at))):
		case <-stop:
			return
		}
		var pkts [][]byte
		switch p.Stream {
		case video:
			for _, rp := range vp.Packetize(p.Data, 0) {
				rp.Timestamp = uint32(at * 90000 / time.Second)
				b, _ := rp.Marshal()
				pkts = append(pkts, b)
			}
			if s := send[0]; s != nil {
				for _, b := range pkts {
					if s(b) != nil {
						return
					}
				}
			}
		case audio:
			// RFC 3640 AAC-hbr: one AU per packet after a 16-bit AU header.
			payload := []byte{0, 16, byte(len(p.Data) >> 5), byte(len(p.Data)&0x1f) << 3}
			rp := rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 97, SequenceNumber: aSeq, SSRC: 0x5678,
				Timestamp: uint32(at * time.Duration(rate) / time.Second)}, Payload: append(payload, p.Data...)}
			aSeq++
			b, _ := rp.Marshal()
			if s := send[1]; s != nil && s(b) != nil {
				return
			}
		}
	}
}
