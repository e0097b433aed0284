package peer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
)

// pionLogs routes pion's logging into the MeteredPeer's logger, scrubbed,
// one level down (pion's ERROR lines are mostly expected noise, such as
// candidates for a replaced connection).
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

// out formats only when the level is enabled: pion passes objects it may be
// changing concurrently, so formatting them needlessly is a data race. A
// remote track (pion's "got new track: %+v") is described through its
// methods, which take its lock: formatted field by field it raced pion
// filling it in (seen under -race with debug logs on).
func (l pionLogger) out(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	for i, a := range args {
		if t, ok := a.(*webrtc.TrackRemote); ok && t != nil {
			args[i] = fmt.Sprintf("{id %s kind %s ssrc %d}", t.ID(), t.Kind(), t.SSRC())
		}
	}
	l.log.Log(ctx, level, protocol.Scrub(fmt.Sprintf(format, args...)))
}

const pionDebug = slog.LevelDebug - 4

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(msg string)             { l.out(pionDebug, "%s", msg) }
func (l pionLogger) Debugf(f string, args ...any) { l.out(pionDebug, f, args...) }
func (l pionLogger) Info(msg string)              { l.out(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.out(slog.LevelDebug, f, args...) }
func (l pionLogger) Warn(msg string)              { l.out(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.out(slog.LevelDebug, f, args...) }
func (l pionLogger) Error(msg string)             { l.out(slog.LevelInfo, "%s", msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.out(slog.LevelInfo, f, args...) }
