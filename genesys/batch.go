package genesys

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// batchSize is a batch limit of the platform that no official source
// states (ids per bulk read, predicates per analytics query): requests start
// at the assumed figure; when the platform refuses a batch as too large
// (batchRefused), the request halves its batch until one is accepted, and
// that size is then kept for every later request of the client and logged
// once. A size is only kept once it worked, so a 400 misread as a size
// refusal costs a few requests but never lowers the size for good.
type batchSize struct {
	what    string // "ids per bulk read"
	initial int
	n       atomic.Int64
	logger  *slog.Logger
}

func newBatchSize(what string, initial int, logger *slog.Logger) *batchSize {
	b := &batchSize{what: what, initial: initial, logger: logger}
	b.n.Store(int64(initial))
	return b
}

// get returns the current size.
func (b *batchSize) get() int { return int(b.n.Load()) }

// halve returns the batch to try after a refused batch of n.
func halve(n int) int { return max(n/2, 1) }

// learn records that a batch of n, smaller than one the platform refused,
// was accepted: n becomes the size of later requests unless a smaller one
// is known already. Each new size is logged once.
func (b *batchSize) learn(ctx context.Context, n int) {
	for {
		cur := b.n.Load()
		if int64(n) >= cur {
			return
		}
		if b.n.CompareAndSwap(cur, int64(n)) {
			break
		}
	}
	b.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: the platform refused larger batches; using "+strconv.Itoa(n)+" "+b.what+" from now on",
		slog.String("batch", b.what), slog.Int("assumed", b.initial), slog.Int("size", n))
}

// batchRefused reports whether err refuses a request because of the size of
// its batch of n items, which the body sends as field: a 413, or a 400
// whose code, message or messageParams name the field, or whose parameters
// hold the count n, or whose message holds n beside words of a limit
// ("at most", "maximum", "limit", "exceed", "too many"). The platform's
// answer is unconfirmed (the sandbox answers 400 bad.request naming the
// field, count and limit in messageParams); halving a read after a
// misjudged 400 costs a few requests before the error is returned.
func batchRefused(err error, field string, n int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusRequestEntityTooLarge:
		return true
	case http.StatusBadRequest:
	default:
		return false
	}
	count := strconv.Itoa(n)
	for k, v := range ae.MessageParams {
		if v == count || strings.Contains(strings.ToLower(k+" "+v), field) {
			return true
		}
	}
	text := strings.ToLower(ae.Code + " " + ae.Message + " " + ae.MessageWithParams)
	if strings.Contains(text, field) {
		return true
	}
	if !containsNumber(text, count) {
		return false
	}
	for _, w := range []string{"at most", "maximum", "limit", "exceed", "too many"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// containsNumber reports whether text holds num as a whole number (not
// part of a longer one).
func containsNumber(text, num string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], num)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(num)
		if (j == 0 || !isDigit(text[j-1])) && (end == len(text) || !isDigit(text[end])) {
			return true
		}
		i = j + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
