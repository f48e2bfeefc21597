// Package registry is a small service registry in the manner of Eureka, for
// the test cluster's demo application (docs/design.md, "Test cluster data
// plane"): instances register, renew their lease by heartbeat, change their
// status (UP, DOWN, ...) and cancel; clients read the instance list through
// a cache refreshed at an interval, so a status change reaches them late, as
// it does with Eureka's clients.
//
// One server holds many independent spaces (one per Kubernetes namespace):
// a space's base URL is the server's URL followed by "/SPACE".
//
//	POST   /SPACE/apps/APP            register (JSON Instance), 204
//	PUT    /SPACE/apps/APP/ID         heartbeat, 200; 404 if unknown (register again)
//	PUT    /SPACE/apps/APP/ID/status?value=DOWN   status, 200
//	DELETE /SPACE/apps/APP/ID         cancel, 200
//	GET    /SPACE/apps/APP            {"instances":[...]} (expired leases left out)
//	GET    /SPACE/events              {"events":[...]} every change with its time
package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Statuses an instance may have (Eureka's InstanceStatus).
const (
	StatusUp           = "UP"
	StatusDown         = "DOWN"
	StatusStarting     = "STARTING"
	StatusOutOfService = "OUT_OF_SERVICE"
	StatusUnknown      = "UNKNOWN"
)

// ValidStatus reports whether s is one of the statuses above.
func ValidStatus(s string) bool {
	switch s {
	case StatusUp, StatusDown, StatusStarting, StatusOutOfService, StatusUnknown:
		return true
	}
	return false
}

// Instance is one registered instance.
type Instance struct {
	App     string `json:"app"`
	ID      string `json:"id"`
	Address string `json:"address"` // host:port clients call
	Version string `json:"version,omitempty"`
	Status  string `json:"status"`
	// LastRenewal is the time of the last register or heartbeat.
	LastRenewal time.Time `json:"lastRenewal"`
}

// Event is one change of the registry, as the scenarios read it: which
// instance changed to what, when.
type Event struct {
	Time   time.Time `json:"time"`
	App    string    `json:"app"`
	ID     string    `json:"id"`
	Event  string    `json:"event"` // registered, status, cancelled, expired
	Status string    `json:"status,omitempty"`
}

// DefaultLease is how long an instance stays listed without a heartbeat
// (Eureka: 90s; short here because the demo app renews every second).
const DefaultLease = 5 * time.Second

// maxEvents bounds the event log of a space.
const maxEvents = 10000

// Server is the registry. Its zero value is not usable: use NewServer.
type Server struct {
	lease time.Duration
	now   func() time.Time

	mu     sync.Mutex
	spaces map[string]*space
}

type space struct {
	apps   map[string]map[string]*Instance // app -> id -> instance
	events []Event
}

// NewServer returns a registry whose leases last lease (0: DefaultLease).
func NewServer(lease time.Duration) *Server {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Server{lease: lease, now: time.Now, spaces: map[string]*space{}}
}

func (s *Server) space(name string) *space {
	sp := s.spaces[name]
	if sp == nil {
		sp = &space{apps: map[string]map[string]*Instance{}}
		s.spaces[name] = sp
	}
	return sp
}

func (sp *space) record(e Event) {
	sp.events = append(sp.events, e)
	if over := len(sp.events) - maxEvents; over > 0 {
		sp.events = append(sp.events[:0:0], sp.events[over:]...)
	}
}

// expire drops the instances of app whose lease ran out. Leases are checked
// when the registry is read rather than by a timer: the result is the same
// and an idle registry costs nothing.
func (s *Server) expire(sp *space, app string) {
	now := s.now()
	for id, in := range sp.apps[app] {
		if now.Sub(in.LastRenewal) > s.lease {
			delete(sp.apps[app], id)
			sp.record(Event{Time: now, App: app, ID: id, Event: "expired"})
		}
	}
}

// ServeHTTP implements the API in the package comment.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] == "" {
		http.Error(w, "want /SPACE/apps/... or /SPACE/events", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.space(parts[0])
	now := s.now()
	switch {
	case len(parts) == 2 && parts[1] == "events" && r.Method == http.MethodGet:
		writeJSON(w, map[string]any{"events": sp.events})
	case len(parts) == 3 && parts[1] == "apps" && r.Method == http.MethodGet:
		s.expire(sp, parts[2])
		list := []Instance{}
		for _, in := range sp.apps[parts[2]] {
			list = append(list, *in)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		writeJSON(w, map[string]any{"instances": list})
	case len(parts) == 3 && parts[1] == "apps" && r.Method == http.MethodPost:
		var in Instance
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID == "" || in.Address == "" {
			http.Error(w, fmt.Sprintf("want a JSON instance with id and address (%v)", err), http.StatusBadRequest)
			return
		}
		if in.Status == "" {
			in.Status = StatusUp
		}
		if !ValidStatus(in.Status) {
			http.Error(w, "unknown status "+in.Status, http.StatusBadRequest)
			return
		}
		in.App, in.LastRenewal = parts[2], now
		if sp.apps[in.App] == nil {
			sp.apps[in.App] = map[string]*Instance{}
		}
		sp.apps[in.App][in.ID] = &in
		sp.record(Event{Time: now, App: in.App, ID: in.ID, Event: "registered", Status: in.Status})
		w.WriteHeader(http.StatusNoContent)
	case (len(parts) == 4 || len(parts) == 5 && parts[4] == "status") && parts[1] == "apps":
		s.expire(sp, parts[2])
		in := sp.apps[parts[2]][parts[3]]
		if in == nil {
			http.Error(w, "unknown instance", http.StatusNotFound)
			return
		}
		switch {
		case len(parts) == 4 && r.Method == http.MethodPut:
			in.LastRenewal = now
		case len(parts) == 4 && r.Method == http.MethodDelete:
			delete(sp.apps[parts[2]], parts[3])
			sp.record(Event{Time: now, App: in.App, ID: in.ID, Event: "cancelled"})
		case len(parts) == 5 && r.Method == http.MethodPut:
			st := r.URL.Query().Get("value")
			if !ValidStatus(st) {
				http.Error(w, "unknown status "+st, http.StatusBadRequest)
				return
			}
			in.LastRenewal = now
			if in.Status != st {
				in.Status = st
				sp.record(Event{Time: now, App: in.App, ID: in.ID, Event: "status", Status: st})
			}
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
