package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ErrUnknown is returned by Renew when the registry does not know the
// instance (it expired, or the registry restarted): register again.
var ErrUnknown = errors.New("registry: unknown instance")

// Client calls one space of a registry. URL is the space's base URL
// (http://HOST:PORT/SPACE).
type Client struct {
	URL  string
	HTTP *http.Client // nil: a client with a 2s timeout
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound && method == http.MethodPut:
		return ErrUnknown
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("registry: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	case out != nil:
		return json.Unmarshal(data, out)
	}
	return nil
}

var defaultHTTP = &http.Client{Timeout: 2 * time.Second}

func instancePath(app, id string) string {
	return "/apps/" + url.PathEscape(app) + "/" + url.PathEscape(id)
}

// Register adds or replaces an instance (its App names the application).
func (c *Client) Register(ctx context.Context, in Instance) error {
	return c.do(ctx, http.MethodPost, "/apps/"+url.PathEscape(in.App), in, nil)
}

// Renew is the heartbeat; ErrUnknown means register again.
func (c *Client) Renew(ctx context.Context, app, id string) error {
	return c.do(ctx, http.MethodPut, instancePath(app, id), nil, nil)
}

// SetStatus changes an instance's status (UP, DOWN, ...).
func (c *Client) SetStatus(ctx context.Context, app, id, status string) error {
	return c.do(ctx, http.MethodPut, instancePath(app, id)+"/status?value="+url.QueryEscape(status), nil, nil)
}

// Cancel removes an instance (what a Eureka client does on shutdown).
func (c *Client) Cancel(ctx context.Context, app, id string) error {
	return c.do(ctx, http.MethodDelete, instancePath(app, id), nil, nil)
}

// Instances lists the live instances of app, whatever their status.
func (c *Client) Instances(ctx context.Context, app string) ([]Instance, error) {
	var out struct {
		Instances []Instance `json:"instances"`
	}
	err := c.do(ctx, http.MethodGet, "/apps/"+url.PathEscape(app), nil, &out)
	return out.Instances, err
}

// Events is the space's change log, oldest first.
func (c *Client) Events(ctx context.Context) ([]Event, error) {
	var out struct {
		Events []Event `json:"events"`
	}
	err := c.do(ctx, http.MethodGet, "/events", nil, &out)
	return out.Events, err
}

// DefaultRefresh is the Cache's refresh interval unless told otherwise
// (Eureka clients fetch every 30s; the scenarios use seconds).
const DefaultRefresh = 2 * time.Second

// Cache is a client's copy of one application's instance list, fetched
// again once it is older than Refresh: a status change reaches a caller up
// to Refresh late, as with a Eureka client's registry fetch. It is safe for
// concurrent use; a failed fetch keeps the last list (as Eureka does).
type Cache struct {
	Client  *Client
	App     string
	Refresh time.Duration // 0: DefaultRefresh

	mu      sync.Mutex
	fetched time.Time
	list    []Instance
	lastErr error
}

// Up returns the UP instances of the last fetch, fetching first if the copy
// is older than Refresh.
func (c *Cache) Up(ctx context.Context) ([]Instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	refresh := c.Refresh
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	if c.fetched.IsZero() || time.Since(c.fetched) >= refresh {
		list, err := c.Client.Instances(ctx, c.App)
		c.fetched, c.lastErr = time.Now(), err
		if err == nil {
			c.list = list
		}
	}
	var up []Instance
	for _, in := range c.list {
		if in.Status == StatusUp {
			up = append(up, in)
		}
	}
	if len(up) == 0 && c.lastErr != nil {
		return nil, c.lastErr
	}
	return up, nil
}
