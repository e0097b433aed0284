package peer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"

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

func (l pionLogger) out(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, protocol.Scrub(msg))
}

func (l pionLogger) Trace(msg string)      {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(msg string)      { l.out(slog.LevelDebug-4, msg) }
func (l pionLogger) Debugf(format string, args ...any) {
	l.out(slog.LevelDebug-4, fmt.Sprintf(format, args...))
}
func (l pionLogger) Info(msg string) { l.out(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any) {
	l.out(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l pionLogger) Warn(msg string) { l.out(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	l.out(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l pionLogger) Error(msg string) { l.out(slog.LevelInfo, msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.out(slog.LevelInfo, fmt.Sprintf(format, args...))
}
