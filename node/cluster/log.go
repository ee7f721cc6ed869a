package cluster

import (
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newStdLogger returns the *log.Logger memberlist writes to, which hands
// every line to z at the level memberlist put in front of it.
// Once closing is set, errors are logged at Debug: memberlist shuts its
// sockets before its timers, so a gossip round may still try to send
// through a closed socket, which is expected then and alarming at Error.
func newStdLogger(z *zap.Logger, closing *atomic.Bool) *log.Logger {
	return log.New(logWriter{z: z, closing: closing, repeats: newRepeatLimiter(repeatWindow, time.Now)}, "", 0)
}

// logWriter turns memberlist's "[LEVEL] memberlist: message" lines into zap
// entries. log.Logger calls Write once per line, so no buffering is needed.
type logWriter struct {
	z       *zap.Logger
	closing *atomic.Bool
	repeats *repeatLimiter
}

func (w logWriter) Write(p []byte) (int, error) {
	lvl, msg := parseLogLine(string(p))
	if lvl > zapcore.InfoLevel && w.closing.Load() {
		lvl = zapcore.DebugLevel
	}
	var fields []zap.Field
	if lvl > zapcore.InfoLevel {
		// A peer cut off makes memberlist fail every send to it, several
		// times a second: the first of a kind is logged, its repeats
		// counted and reported with the next one logged.
		ok, skipped := w.repeats.allow(msgKind(msg))
		if !ok {
			lvl = zapcore.DebugLevel
		} else if skipped > 0 {
			fields = append(fields, zap.Int("repeats_not_logged", skipped))
		}
	}
	if ce := w.z.Check(lvl, msg); ce != nil {
		ce.Write(fields...)
	}
	return len(p), nil
}

// repeatWindow is how long after logging a warning or error of one kind
// memberlist's repeats of it go to Debug.
const repeatWindow = 30 * time.Second

// repeatLimiter lets one line of each kind through per window.
type repeatLimiter struct {
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	logged  map[string]time.Time // when a kind was last let through
	skipped map[string]int       // repeats held back since
}

func newRepeatLimiter(window time.Duration, now func() time.Time) *repeatLimiter {
	return &repeatLimiter{window: window, now: now, logged: map[string]time.Time{}, skipped: map[string]int{}}
}

// allow reports whether a line of kind k may be logged now, and how many of
// its repeats were held back before it.
func (r *repeatLimiter) allow(k string) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if at, ok := r.logged[k]; ok && now.Sub(at) < r.window {
		r.skipped[k]++
		return false, 0
	}
	if len(r.logged) > 256 {
		// Kinds are few; this only bounds the maps against odd messages.
		clear(r.logged)
		clear(r.skipped)
	}
	r.logged[k] = now
	n := r.skipped[k]
	delete(r.skipped, k)
	return true, n
}

// msgKind is a message up to its first digit: "Failed to send UDP ping:
// write udp 127.0.0.1:24693->..." and the same to another peer are one
// kind.
func msgKind(msg string) string {
	if i := strings.IndexAny(msg, "0123456789"); i >= 0 {
		return msg[:i]
	}
	return msg
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
