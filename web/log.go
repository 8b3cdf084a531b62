package web

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// event collects the fields of one request's log line; handlers add to it through AddLog.
type event struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type eventKey struct{}

// AddLog adds fields (function, transactionId, EID, …) to the current request's log event.
// Outside a request it does nothing.
func AddLog(ctx context.Context, attrs ...slog.Attr) {
	if ev, ok := ctx.Value(eventKey{}).(*event); ok {
		ev.mu.Lock()
		ev.attrs = append(ev.attrs, attrs...)
		ev.mu.Unlock()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// RequestLog writes one structured log event per request, after it ends, with the fields
// handlers added, and turns a handler panic into a 500 with the stack in the log.
func RequestLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ev := &event{}
			rec := &statusRecorder{ResponseWriter: w}
			r = r.WithContext(context.WithValue(r.Context(), eventKey{}, ev))
			defer func() {
				level := slog.LevelInfo
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					level = slog.LevelError
					ev.attrs = append(ev.attrs, slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
					if rec.status == 0 {
						http.Error(rec, "internal error", http.StatusInternalServerError)
					}
				}
				attrs := append([]slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", rec.status),
					slog.Int("bytes", rec.bytes),
					slog.Duration("latency", time.Since(start)),
					slog.String("remote", r.RemoteAddr),
					slog.String("proto", r.Proto),
				}, ev.attrs...)
				log.LogAttrs(r.Context(), level, "request", attrs...)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
