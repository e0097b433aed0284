package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// checkOffer reads a publisher's offer: it must send audio or video, each
// media section in a codec the room decodes. A section offering simulcast
// is cut to its first layer (a mesh sends one copy to each member, so
// there is nobody to choose among layers); layers says which, for the log.
func checkOffer(body string) (offer, layers string, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(body); err != nil {
		return "", "", &statusError{http.StatusBadRequest, fmt.Errorf("the offer is not SDP: %w", err)}
	}
	media, munged := 0, false
	for i, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		media++
		for _, a := range m.Attributes {
			if a.Key == "recvonly" || a.Key == "inactive" {
				return "", "", &statusError{http.StatusBadRequest, fmt.Errorf("m-line %d (%s) is %s: a WHIP offer sends", i, kind, a.Key)}
			}
		}
		if offered, ok := decodable(m); !ok {
			return "", "", &statusError{http.StatusUnprocessableEntity, fmt.Errorf("m-line %d (%s) offers %s: no room peer decodes it; send Opus, H.264 (packetization-mode=1), VP8 or VP9", i, kind, strings.Join(offered, ", "))}
		}
		if l := oneLayer(m); l != "" {
			layers, munged = l, true
		}
	}
	if media == 0 {
		return "", "", &statusError{http.StatusBadRequest, errors.New("the offer has no audio or video")}
	}
	if !munged {
		return body, "", nil
	}
	out, err := d.Marshal()
	if err != nil {
		return "", "", &statusError{http.StatusBadRequest, err}
	}
	return string(out), layers, nil
}

// decodable tells whether m offers a codec of publishCodecs, and lists
// what it offers.
func decodable(m *sdp.MediaDescription) (offered []string, ok bool) {
	fmtps := map[string]string{}
	for _, a := range m.Attributes {
		if a.Key == "fmtp" {
			pt, params, _ := strings.Cut(a.Value, " ")
			fmtps[pt] = params
		}
	}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, _ := strings.Cut(a.Value, " ")
		name, _, _ := strings.Cut(enc, "/")
		if strings.EqualFold(name, "rtx") || strings.EqualFold(name, "red") || strings.EqualFold(name, "ulpfec") {
			continue
		}
		offered = append(offered, enc)
		mimeType := m.MediaName.Media + "/" + name
		for _, c := range publishCodecs {
			if strings.EqualFold(c.MimeType, mimeType) && sameParameters(mimeType, fmtps[pt], c.SDPFmtpLine) {
				ok = true
			}
		}
	}
	if len(offered) == 0 {
		offered = []string{"no codec"}
	}
	return offered, ok
}

// oneLayer cuts a simulcast section to the first layer it sends, and
// returns "all → the one kept" ("" when m offers no simulcast).
func oneLayer(m *sdp.MediaDescription) string {
	var spec string
	for _, a := range m.Attributes {
		if a.Key == "simulcast" {
			spec = a.Value
		}
	}
	dir, list, found := strings.Cut(strings.TrimSpace(spec), " ")
	if !found || dir != "send" {
		return ""
	}
	rids := strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ',' })
	if len(rids) == 0 {
		return ""
	}
	first := strings.TrimPrefix(rids[0], "~")
	kept := m.Attributes[:0]
	for _, a := range m.Attributes {
		switch {
		case a.Key == "simulcast":
			a.Value = "send " + first
		case a.Key == "rid":
			if id, _, _ := strings.Cut(a.Value, " "); id != first {
				continue
			}
		}
		kept = append(kept, a)
	}
	m.Attributes = kept
	return list + " → " + first
}

// newIngestAPI is a publisher connection's API: the publish codecs, and
// pion's default interceptors (NACKs for what the path to us lost, RTCP
// reports, transport-wide feedback for the publisher's estimator).
func newIngestAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}
