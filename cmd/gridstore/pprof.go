package main

// The profiling listener of `gridstore server --pprof-address`.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"go.uber.org/zap"
)

// Rates of the block and mutex profiles while the profiling listener is
// on: a blocking event of 10 µs or more is sampled in proportion to its
// duration, one mutex contention in 100. Off (the runtime's default) when
// it is not, since both cost on every contended lock.
const (
	pprofBlockRateNanos = 10_000
	pprofMutexFraction  = 100
)

// startPprof serves Go's profiles on addr, a listener of its own apart from
// the S3 port and without authentication, so it is meant for a loopback
// address. The command line is not served (/debug/pprof/cmdline): it may
// hold a password. It returns the address it listens on; stop closes the
// listener.
func startPprof(addr string, log *zap.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pprof listener: %w", err)
	}
	runtime.SetBlockProfileRate(pprofBlockRateNanos)
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, allocs, goroutine, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not served: the command line may hold a secret", http.StatusNotFound)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener ended", zap.Error(err))
		}
	}()
	log.Info("profiles served", zap.String("address", ln.Addr().String()), zap.String("path", "/debug/pprof/"))
	return ln.Addr().String(), func() {
		_ = srv.Close()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}, nil
}
