package cluster

import (
	"log"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newStdLogger returns the *log.Logger memberlist writes to, which hands
// every line to z at the level memberlist put in front of it.
// Once closing is set, errors are logged at Debug: memberlist shuts its
// sockets before its timers, so a gossip round may still try to send
// through a closed socket, which is expected then and alarming at Error.
func newStdLogger(z *zap.Logger, closing *atomic.Bool) *log.Logger {
	return log.New(logWriter{z, closing}, "", 0)
}

// logWriter turns memberlist's "[LEVEL] memberlist: message" lines into zap
// entries. log.Logger calls Write once per line, so no buffering is needed.
type logWriter struct {
	z       *zap.Logger
	closing *atomic.Bool
}

func (w logWriter) Write(p []byte) (int, error) {
	lvl, msg := parseLogLine(string(p))
	if lvl > zapcore.InfoLevel && w.closing.Load() {
		lvl = zapcore.DebugLevel
	}
	if ce := w.z.Check(lvl, msg); ce != nil {
		ce.Write()
	}
	return len(p), nil
}

// parseLogLine splits a memberlist log line into its level and message.
// memberlist's DEBUG lines (every stream connection, every failed UDP ping)
// go to zap's Debug level and are dropped unless it is enabled; INFO (a
// peer suspected or declared failed) to Info; WARN (refutations, a peer
// reachable over TCP only) to Warn; ERR (a packet that does not decrypt,
// a ping that could not be sent) to Error. A line without a known prefix is
// logged at Info as it is.
func parseLogLine(line string) (zapcore.Level, string) {
	line = strings.TrimRight(line, "\r\n")
	lvl := zapcore.InfoLevel
	if strings.HasPrefix(line, "[") {
		if end := strings.IndexByte(line, ']'); end > 0 {
			known := true
			switch line[1:end] {
			case "TRACE", "DEBUG":
				lvl = zapcore.DebugLevel
			case "INFO":
				lvl = zapcore.InfoLevel
			case "WARN", "WARNING":
				lvl = zapcore.WarnLevel
			case "ERR", "ERROR":
				lvl = zapcore.ErrorLevel
			default:
				known = false
			}
			if known {
				line = strings.TrimLeft(line[end+1:], " ")
			}
		}
	}
	return lvl, strings.TrimPrefix(line, "memberlist: ")
}
