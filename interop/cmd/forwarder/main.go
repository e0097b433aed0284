// Command forwarder is the subject of the forwarding benchmark (make
// bench): one process that takes one WebRTC video stream in and sends it to
// several connections out, measured from outside by its CPU time.
//
//	-impl ours -role whip   a MeteredPeer in the channel with a WHIP endpoint
//	                        (POST /whip/bench): in from a WHIP publisher, out
//	                        to the channel's members
//	-impl ours -role whep   a MeteredPeer in the channel with a WHEP endpoint
//	                        (POST /whep/?label=bench): in from a member, out to
//	                        WHEP players
//	-impl pion              what an application would write with bare pion:
//	                        POST /in takes the stream, POST /out sends it, one
//	                        TrackLocalStaticRTP written to every player
//
// It prints its HTTP address on stdout and runs until stdin closes.
// FWD_CPUPROFILE=DIR writes a CPU profile of the run to DIR/IMPL-ROLE.prof.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
)

func main() {
	impl := flag.String("impl", "ours", "ours or pion")
	role := flag.String("role", "whip", "with -impl ours: whip or whep")
	url := flag.String("url", "", "the local server's WebSocket URL (ours)")
	channel := flag.String("channel", "bench", "the channel (ours)")
	flag.Parse()
	if dir := os.Getenv("FWD_CPUPROFILE"); dir != "" { // a CPU profile per subject, into that folder
		if f, err := os.Create(filepath.Join(dir, *impl+"-"+*role+".prof")); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*impl, *role, *url, *channel); err != nil {
		fmt.Fprintln(os.Stderr, "forwarder:", err)
		os.Exit(1)
	}
}

func run(impl, role, url, channel string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	var closers []func()
	switch impl {
	case "ours":
		p, err := peer.New(peer.Options{URL: url, APIKey: "pk_bench"})
		if err != nil {
			return err
		}
		defer p.Close("done")
		opts := bridge.Options{Anonymous: true}
		if role == "whep" {
			h, err := bridge.NewWHEP(p, opts)
			if err != nil {
				return err
			}
			mux.Handle("/whep/", h)
			closers = append(closers, func() { _ = h.Close() })
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Join(ctx, channel); err != nil {
			return err
		}
		if role == "whip" {
			h, err := bridge.NewWHIP(p, opts)
			if err != nil {
				return err
			}
			mux.Handle("/whip/", h)
			closers = append(closers, func() { _ = h.Close() })
		}
	case "pion":
		f, err := newForwarder()
		if err != nil {
			return err
		}
		mux.HandleFunc("/in", f.in)
		mux.HandleFunc("/out", f.out)
		closers = append(closers, f.close)
	default:
		return fmt.Errorf("-impl %q: ours or pion", impl)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	for _, c := range closers {
		c()
	}
	return nil
}

// forwarder is bare pion's forwarding: one track in, written to one
// TrackLocalStaticRTP that every out connection sends.
type forwarder struct {
	api   *webrtc.API
	track *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex
	pcs []*webrtc.PeerConnection
}

func newForwarder() (*forwarder, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "bench")
	if err != nil {
		return nil, err
	}
	return &forwarder{api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg)), track: track}, nil
}

func (f *forwarder) in(w http.ResponseWriter, r *http.Request) {
	f.answer(w, r, func(pc *webrtc.PeerConnection) error {
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1600)
			for {
				n, _, err := remote.Read(buf)
				if err != nil {
					return
				}
				_, _ = f.track.Write(buf[:n])
			}
		})
		return nil
	})
}

func (f *forwarder) out(w http.ResponseWriter, r *http.Request) {
	f.answer(w, r, func(pc *webrtc.PeerConnection) error {
		s, err := pc.AddTrack(f.track)
		if err != nil {
			return err
		}
		go func() { // RTCP must be read for the interceptors to run
			for {
				if _, _, err := s.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		return nil
	})
}

func (f *forwarder) answer(w http.ResponseWriter, r *http.Request, setup func(*webrtc.PeerConnection) error) {
	offer, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pc, err := f.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	f.pcs = append(f.pcs, pc)
	f.mu.Unlock()
	if err := setup(pc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	<-gathered
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", r.URL.Path+"/session")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pc := range f.pcs {
		_ = pc.Close()
	}
}
