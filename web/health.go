package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// Check is one readiness dependency (the database, Redis …); it returns nil when usable.
type Check func(ctx context.Context) error

// Healthz answers 200 while the process serves requests (liveness).
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// Readyz answers 200 when every check passes within two seconds, else 503, with a JSON body
// naming each check's result so an operator sees which dependency is down.
func Readyz(checks map[string]Check) http.Handler {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		result := make(map[string]string, len(checks))
		code := http.StatusOK
		for _, n := range names {
			if err := checks[n](ctx); err != nil {
				result[n] = err.Error()
				code = http.StatusServiceUnavailable
			} else {
				result[n] = "ok"
			}
		}
		body, _ := json.Marshal(result)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(body)
	})
}
