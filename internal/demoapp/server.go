package demoapp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

// Response headers of the main path: what the load generator counts.
const (
	HeaderVersion = "X-Version"
	HeaderPod     = "X-Pod"
)

// maxSleep bounds the ?sleep= of a main-path request.
const maxSleep = time.Minute

// App is one demo server. Its handler answers:
//
//	/ready, /actuator/health/readiness     200 when ready, else 503
//	/live, /healthz, /actuator/health/liveness   200 unless told to fail
//	/actuator/health                        {"status":"UP"} or 503 {"status":"OUT_OF_SERVICE"}
//	GET  /actuator/service-registry         {"status":"UP"}: the registration status
//	POST /actuator/service-registry         {"status":"DOWN"} (or ?status=DOWN): set it
//	POST /actuator/pause, /actuator/resume  registration DOWN, UP (Spring Cloud's)
//	anything else                           the main path: {"version":...}, X-Version;
//	                                        ?sleep=DURATION holds the request
type App struct {
	cfg     Config
	started time.Time
	reg     *registration

	ready  atomic.Bool // false while starting and once shutting down
	served atomic.Int64
}

// New returns an App for cfg; it is not ready until Serve starts.
func New(cfg Config) *App {
	a := &App{cfg: cfg, started: time.Now()}
	a.reg = newRegistration(cfg)
	return a
}

// Handler is the App's HTTP handler.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/ready", "/actuator/health/readiness"} {
		mux.HandleFunc(p, a.readiness)
	}
	for _, p := range []string{"/live", "/healthz", "/actuator/health/liveness"} {
		mux.HandleFunc(p, a.liveness)
	}
	mux.HandleFunc("/actuator/health", a.health)
	mux.HandleFunc("/actuator/service-registry", a.serviceRegistry)
	mux.HandleFunc("/actuator/pause", a.setStatusHandler(registry.StatusDown))
	mux.HandleFunc("/actuator/resume", a.setStatusHandler(registry.StatusUp))
	mux.HandleFunc("/", a.main)
	return mux
}

func (a *App) isReady() bool { return a.ready.Load() && !a.cfg.FailReadiness }

func (a *App) isLive() bool {
	if a.cfg.FailLiveness {
		return false
	}
	return a.cfg.FailLivenessAfter == 0 || time.Since(a.started) < a.cfg.FailLivenessAfter
}

func probe(w http.ResponseWriter, ok bool) {
	if ok {
		writeJSON(w, http.StatusOK, map[string]string{"status": "UP"})
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "OUT_OF_SERVICE"})
}

func (a *App) readiness(w http.ResponseWriter, r *http.Request) { probe(w, a.isReady()) }
func (a *App) liveness(w http.ResponseWriter, r *http.Request)  { probe(w, a.isLive()) }
func (a *App) health(w http.ResponseWriter, r *http.Request)    { probe(w, a.isReady() && a.isLive()) }

func (a *App) serviceRegistry(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"status": a.reg.status()})
	case http.MethodPost:
		status := r.URL.Query().Get("status")
		if status == "" {
			var body struct {
				Status string `json:"status"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
				http.Error(w, `want {"status":"DOWN"} or ?status=DOWN`, http.StatusBadRequest)
				return
			}
			status = body.Status
		}
		a.setStatus(w, r, strings.ToUpper(status))
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}

func (a *App) setStatusHandler(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST", http.StatusMethodNotAllowed)
			return
		}
		a.setStatus(w, r, status)
	}
}

// setStatus answers 200 once the registry has the new status, so a caller
// that got 200 knows the registry shows it; 502 if the registry refused.
func (a *App) setStatus(w http.ResponseWriter, r *http.Request, status string) {
	if !registry.ValidStatus(status) {
		http.Error(w, fmt.Sprintf("unknown status %q (UP, DOWN, OUT_OF_SERVICE, STARTING, UNKNOWN)", status), http.StatusBadRequest)
		return
	}
	if err := a.reg.setStatus(r.Context(), status); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
}

func (a *App) main(w http.ResponseWriter, r *http.Request) {
	a.served.Add(1)
	delay := a.cfg.Latency
	if s := r.URL.Query().Get("sleep"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > maxSleep {
			http.Error(w, "sleep: want a duration up to 1m", http.StatusBadRequest)
			return
		}
		delay += d
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set(HeaderVersion, a.cfg.Version)
	w.Header().Set(HeaderPod, a.cfg.Pod)
	status := http.StatusOK
	if a.cfg.ErrorRate > 0 && rand.Float64() < a.cfg.ErrorRate {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]any{"version": a.cfg.Version, "pod": a.cfg.Pod, "address": r.Host, "status": status})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
