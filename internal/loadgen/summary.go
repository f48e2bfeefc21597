package loadgen

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// outcome is one request's result.
type outcome struct {
	at      time.Time
	latency time.Duration
	version string // set when it succeeded
	kind    string // error kind, when it failed
	sample  string
	status  bool // an HTTP answer (latency counts)
}

// maxSamples bounds the error samples kept per kind.
const maxSamples = 3

type aggregate struct {
	started, ended time.Time
	sent           int
	versions       map[string]int
	kinds          map[string]int
	samples        map[string][]string
	latencies      []time.Duration
	first, last    map[string]time.Time
	seconds        []Second
}

func (a *aggregate) init(start time.Time) {
	a.started = start
	a.versions, a.kinds, a.samples = map[string]int{}, map[string]int{}, map[string][]string{}
	a.first, a.last = map[string]time.Time{}, map[string]time.Time{}
}

func (a *aggregate) add(o outcome) {
	a.sent++
	if o.kind == "" || o.status {
		a.latencies = append(a.latencies, o.latency)
	}
	sec := a.bucket(o.at)
	if o.kind != "" {
		a.kinds[o.kind]++
		if len(a.samples[o.kind]) < maxSamples {
			a.samples[o.kind] = append(a.samples[o.kind], fmt.Sprintf("t=%.3fs %s", o.at.Sub(a.started).Seconds(), o.sample))
		}
		sec.Errors++
		return
	}
	a.versions[o.version]++
	sec.Versions[o.version]++
	if _, ok := a.first[o.version]; !ok {
		a.first[o.version] = o.at
	}
	if o.at.After(a.last[o.version]) {
		a.last[o.version] = o.at
	}
}

// bucket is the second o.at falls in (by when the answer came).
func (a *aggregate) bucket(at time.Time) *Second {
	i := max(int(at.Sub(a.started)/time.Second), 0)
	for len(a.seconds) <= i {
		a.seconds = append(a.seconds, Second{At: len(a.seconds), Versions: map[string]int{}})
	}
	return &a.seconds[i]
}

func (a *aggregate) second(i int) Second {
	if i < len(a.seconds) {
		s := a.seconds[i]
		s.Versions = copyMap(s.Versions)
		return s
	}
	return Second{At: i, Versions: map[string]int{}}
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Summary is what the clients of a run saw. Times are seconds since the
// run started.
type Summary struct {
	URL      string    `json:"url"`
	Host     string    `json:"host,omitempty"`
	Rate     float64   `json:"rate"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"durationSeconds"`
	// Requests counts the requests answered or failed; OK those answered
	// with a status below 400.
	Requests int            `json:"requests"`
	OK       int            `json:"ok"`
	Errors   int            `json:"errors"`
	Versions map[string]int `json:"versions"`
	// ErrorKinds: refused, reset, eof, timeout, 5xx, 4xx, no-target, other.
	ErrorKinds   map[string]int      `json:"errorKinds,omitempty"`
	ErrorSamples map[string][]string `json:"errorSamples,omitempty"`
	Latency      Latency             `json:"latencyMs"`
	FirstSeen    map[string]float64  `json:"firstSeen"`
	LastSeen     map[string]float64  `json:"lastSeen"`
	Seconds      []Second            `json:"seconds"`
}

// Latency percentiles in milliseconds, of the requests that got an answer.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Second is one second of a run, by when answers came.
type Second struct {
	At       int            `json:"at"`
	Versions map[string]int `json:"versions"`
	Errors   int            `json:"errors"`
}

func (s Second) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%3ds", s.At)
	for _, v := range sortedKeys(s.Versions) {
		fmt.Fprintf(&b, " %s=%d", v, s.Versions[v])
	}
	fmt.Fprintf(&b, " errors=%d", s.Errors)
	return b.String()
}

func (a *aggregate) summary() *Summary {
	end := a.ended
	if end.IsZero() {
		end = time.Now()
	}
	s := &Summary{
		Started: a.started, Duration: round3(end.Sub(a.started).Seconds()), Requests: a.sent, Versions: copyMap(a.versions),
		ErrorKinds: copyMap(a.kinds), ErrorSamples: map[string][]string{},
		FirstSeen: map[string]float64{}, LastSeen: map[string]float64{},
	}
	for k, v := range a.samples {
		s.ErrorSamples[k] = append([]string(nil), v...)
	}
	for _, n := range a.kinds {
		s.Errors += n
	}
	s.OK = s.Requests - s.Errors
	for v, t := range a.first {
		s.FirstSeen[v] = round3(t.Sub(a.started).Seconds())
	}
	for v, t := range a.last {
		s.LastSeen[v] = round3(t.Sub(a.started).Seconds())
	}
	lat := append([]time.Duration(nil), a.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return round3(float64(lat[max(i, 0)]) / float64(time.Millisecond))
	}
	s.Latency = Latency{P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: pct(1)}
	for i := range a.seconds {
		s.Seconds = append(s.Seconds, a.second(i))
	}
	return s
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Share is the fraction of OK answers that came from version.
func (s *Summary) Share(version string) float64 {
	if s.OK == 0 {
		return 0
	}
	return float64(s.Versions[version]) / float64(s.OK)
}

// String is a one-line account of the run.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests in %.1fs: %d ok", s.Requests, s.Duration, s.OK)
	for _, v := range sortedKeys(s.Versions) {
		fmt.Fprintf(&b, " %s=%d (%.1f%%)", v, s.Versions[v], 100*s.Share(v))
	}
	fmt.Fprintf(&b, "; %d errors", s.Errors)
	for _, k := range sortedKeys(s.ErrorKinds) {
		fmt.Fprintf(&b, " %s=%d", k, s.ErrorKinds[k])
	}
	fmt.Fprintf(&b, "; latency p50 %.1fms p99 %.1fms max %.1fms", s.Latency.P50, s.Latency.P99, s.Latency.Max)
	return b.String()
}

// Settle is when, after an instant (a gate's failing answer, a switch),
// every client got one version only.
type Settle struct {
	Version string `json:"version"`
	// Last is how long after the instant the last answer of another
	// version came (0: none came after it); LastVersion is that version.
	Last        float64 `json:"lastOtherSeconds"`
	LastVersion string  `json:"lastOther,omitempty"`
	// Second is the first second of the run (Seconds[i].At) from which on
	// only Version answered, without error; After is how long after the
	// instant it began (0 if it began before).
	Second int     `json:"second"`
	After  float64 `json:"afterSeconds"`
}

func (t Settle) String() string {
	last := "no other version answered after it"
	if t.LastVersion != "" {
		last = fmt.Sprintf("last %s answer %.3fs after it", t.LastVersion, t.Last)
	}
	return fmt.Sprintf("%s; first %s-only second t=%ds, %.3fs after it", last, t.Version, t.Second, t.After)
}

// SettledOn says when, after at, only version answered until the end of
// the run; false if another version or an error came in the run's last
// second.
func (s *Summary) SettledOn(version string, at time.Time) (Settle, bool) {
	t := Settle{Version: version, Second: -1}
	since := at.Sub(s.Started).Seconds()
	for v, last := range s.LastSeen {
		if v != version && last-since > t.Last {
			t.Last, t.LastVersion = round3(last-since), v
		}
	}
	from := max(int(since), 0)
	for i := len(s.Seconds) - 1; i >= from; i-- {
		sec := s.Seconds[i]
		if sec.Errors > 0 || len(sec.Versions) != 1 || sec.Versions[version] == 0 {
			break
		}
		t.Second = sec.At
	}
	if t.Second < 0 {
		return t, false
	}
	t.After = round3(max(float64(t.Second)-since, 0))
	return t, true
}
