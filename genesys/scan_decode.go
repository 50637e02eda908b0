package genesys

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// scanDecodeOptions decode a scan page as encoding/json does (the same
// field matching, RawMessage, time and number handling: go-json-experiment's
// v1 options), in about half the CPU time: the decode of a 200-contact page
// was a third of what `contactmerge scan` spent.
var scanDecodeOptions = jsonv1.DefaultOptionsV1() //nolint:gochecknoglobals // immutable options

// scanBodies are the buffers scan responses are read into (a page of 200
// contacts is some 150 KB); nothing decoded keeps a reference to them.
var scanBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }} //nolint:gochecknoglobals // a pool of buffers

// doScan sends req and decodes its 2xx body into page, as Do does (same
// errors: an *APIError for a refusal, ErrMalformedResponse for a body that
// does not decode, an empty body leaving page as it is), with the scan
// decoder (scanDecodeOptions).
func (c *Client) doScan(req *http.Request, page *ScanPage) (*Response, error) {
	body, _ := scanBodies.Get().(*bytes.Buffer)
	body.Reset()
	defer func() {
		if body.Cap() <= 4<<20 {
			scanBodies.Put(body)
		}
	}()
	resp, err := c.Do(req, body)
	if err != nil {
		return resp, err
	}
	data := bytes.TrimSpace(body.Bytes())
	if len(data) == 0 {
		return resp, nil
	}
	if err := jsonv2.Unmarshal(data, page, scanDecodeOptions); err != nil {
		return resp, fmt.Errorf("genesys: %s %s: %w: %w", req.Method, redactURL(req.URL), ErrMalformedResponse, err)
	}
	return resp, nil
}
