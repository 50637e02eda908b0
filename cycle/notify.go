package cycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Notifier POSTs cycle summaries (JSON) to a webhook, with retries. Its
// errors and logs never carry the webhook's address (a chat webhook's
// address is its secret): only its host.
type Notifier struct {
	url  string
	host string
	// HTTP is the client (default: 10 s timeout per attempt).
	HTTP *http.Client
	// Attempts is the number of tries (default 4); Backoff the wait before
	// the second, doubled before each further one (default 1 s).
	Attempts int
	Backoff  time.Duration
}

// NewNotifier returns a Notifier for raw, an http or https URL; EINVALID
// naming flag otherwise.
func NewNotifier(flag, raw string) (*Notifier, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cm.Errorf(cm.EINVALID, "%s: not an http(s) URL (the address is not shown: it may hold a secret)", flag)
	}
	return &Notifier{url: raw, host: u.Host}, nil
}

// Post sends v as JSON, retrying network errors, 408, 429 and 5xx.
func (n *Notifier) Post(ctx context.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	hc := n.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	attempts := n.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := n.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("notify webhook at %s: %w (last: %w)", n.host, ctx.Err(), last)
			case <-time.After(wait):
			}
			wait *= 2
		}
		retry, err := n.post(ctx, hc, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

func (n *Notifier) post(ctx context.Context, hc *http.Client, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("notify webhook at %s: the request could not be built", n.host)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "contactmerge")
	resp, err := hc.Do(req)
	if err != nil {
		// The error of Do names the URL: keep only what failed.
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return true, fmt.Errorf("notify webhook at %s: %s", n.host, msg)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("notify webhook at %s answered %s", n.host, resp.Status)
	default:
		return false, fmt.Errorf("notify webhook at %s answered %s (not retried)", n.host, resp.Status)
	}
}
