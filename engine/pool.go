package engine

import (
	"context"
	"errors"
	"fmt"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// A pool of OAuth clients (genesys.Pool): every request of the engine —
// preflight reads, merges, verification reads — goes through the client
// the pool picks for it, so that merges spread across the clients' budgets
// and a client in a 401/403/429 storm is left out while the others carry
// on. A 403 answered to one client of several forbids that client for good
// (the work is retried on another); the engine stops (ErrForbidden) only
// when no client is left.

// PoolFunc builds the engine's pool of API clients; observe must be (part
// of) every client's genesys.Config.Observer.
type PoolFunc func(observe func(genesys.RequestInfo)) (*genesys.Pool, error)

// NewWithPool is New with a pool of clients: Client returns the pool's first
// (the one the token's organization is read with), and requests spread over
// all of them. It returns newPool's error as is.
func NewWithPool(st cm.Store, cfg Config, newPool PoolFunc) (*Engine, error) {
	e, err := newEngine(st, cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPool(e.ObserveRequest)
	if err != nil {
		return nil, err
	}
	e.pool, e.api = p, p.Clients()[0]
	return e, nil
}

// Pool returns the engine's pool (nil when it was built with New).
func (e *Engine) Pool() *genesys.Pool { return e.pool }

// pick returns the client for the next request.
func (e *Engine) pick() *genesys.Client {
	if e.pool == nil {
		return e.api
	}
	return e.pool.Pick()
}

// forbiddenOn handles an error of client for capability c: a 403 of a pool
// client while another one remains forbids that client and returns an error
// that does not stop the engine (the work is retried, on another client);
// anything else is stopOnForbidden's.
func (e *Engine) forbiddenOn(client *genesys.Client, c genesys.Capability, err error) error {
	if e.pool != nil && e.pool.Len() > 1 && forbidden(c, err) != nil && e.pool.Forbid(client) {
		name := e.pool.Name(client)
		e.log.Warn("a pool client lacks a permission; the other clients carry on", "client", name, "capability", string(c))
		return fmt.Errorf("engine: OAuth client %q of the pool: %w", name, errors.Unwrap(forbidden(c, err)))
	}
	return e.stopOnForbidden(c, err)
}

// checkPoolPermissions is CheckPermissions for a pool of several clients:
// each is probed; those lacking a permission are forbidden (they send
// nothing), and only when all lack one is that an error.
func (e *Engine) checkPoolPermissions(ctx context.Context) error {
	var firstErr error
	ok := 0
	for _, c := range e.pool.Clients() {
		err := c.CheckPermissions(ctx, e.Capabilities()...)
		switch {
		case errors.Is(err, genesys.ErrForbidden):
			e.pool.Forbid(c)
			e.log.Warn("a pool client lacks a permission: it is left out", "client", e.pool.Name(c), "err", err)
			if firstErr == nil {
				firstErr = &forbiddenError{err: fmt.Errorf("OAuth client %q: %w", e.pool.Name(c), err)}
			}
		case err != nil:
			return fmt.Errorf("engine: checking permissions of OAuth client %q: %w", e.pool.Name(c), err)
		default:
			ok++
		}
	}
	if ok == 0 {
		return firstErr
	}
	return nil
}
