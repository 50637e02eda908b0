package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

// This file builds the API client and the engine: Factory.Client and
// ClientFor, the pipeline of run, worker and the demo, and the check of the
// token's organization against the store's (checkOrg).

// Client builds a Genesys Cloud client from the environment. maxRate is a
// ceiling in requests per minute (0: the token's whole budget). observe,
// when set, sees every request (the engine's metrics and adaptive
// concurrency).
func (f *Factory) Client(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error) {
	region, id, secret, err := f.Credentials()
	if err != nil {
		return nil, err
	}
	return f.ClientFor(ctx, region, id, secret, maxRate, observe)
}

// ClientFor builds a client for explicit settings. ratePerMinute is a
// ceiling (0: none).
func (f *Factory) ClientFor(ctx context.Context, region, id, secret string, ratePerMinute int, observe func(genesys.RequestInfo)) (*genesys.Client, error) {
	if observe == nil {
		observe = engine.NewObserver(f.Metrics, nil)
	}
	return genesys.NewClient(ctx, genesys.Config{
		Region: region, ClientID: id, ClientSecret: secret, Logger: f.Logger, RatePerMinute: ratePerMinute,
		UserAgent: "contactmerge", Observer: observe,
	})
}

// pipeline is an engine with its store, client and job client.
type pipeline struct {
	store  store.Store
	api    *genesys.Client
	engine *engine.Engine
	jobs   store.JobClient
}

func (p *pipeline) Close() { p.store.Close() }

// buildPipeline builds the engine on st, its API client (through client,
// which receives the engine's observer) and its River job client.
func buildPipeline(ctx context.Context, f *Factory, st store.Store, o *runOptions, client engine.ClientFunc) (*pipeline, error) {
	return buildPipelineWith(ctx, f, st, o, func(cfg engine.Config) (*engine.Engine, error) { return engine.New(st, cfg, client) })
}

// buildPipelineWith is buildPipeline with the engine built by newEngine
// from the configuration the options give.
func buildPipelineWith(_ context.Context, f *Factory, st store.Store, o *runOptions, newEngine func(engine.Config) (*engine.Engine, error)) (*pipeline, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg := engine.DefaultConfig()
	cfg.MaxPerRequest, cfg.CheckCases, cfg.AlertWebhook = o.maxPerRequest, o.checkCases, o.alertWebhook
	cfg.VerifySettle, cfg.JobTimeout, cfg.RescueAfter = o.settle, o.jobTimeout, o.rescueAfter
	cfg.Concurrency.Initial, cfg.Concurrency.Max = o.concurrency, o.maxConc
	cfg.Logger, cfg.Metrics, cfg.Now = f.Logger, f.Metrics, f.Now
	eng, err := newEngine(cfg)
	if err != nil {
		return nil, err
	}
	jc, err := st.NewJobClient(eng.RiverConfig(river.Config{Logger: f.Logger}))
	if err != nil {
		return nil, err
	}
	return &pipeline{store: st, api: eng.Client(), engine: eng, jobs: jc}, nil
}

// openPipeline opens the configured store and builds a pipeline on it with
// the clients of the environment (Factory.Pool: one or several OAuth
// clients, sharing their budgets and tokens through a PostgreSQL store).
// Close it when done.
func openPipeline(ctx context.Context, f *Factory, o *runOptions) (*pipeline, error) {
	st, err := f.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	p, err := buildPipelineWith(ctx, f, st, o, func(cfg engine.Config) (*engine.Engine, error) {
		return engine.NewWithPool(st, cfg, func(obs func(genesys.RequestInfo)) (*genesys.Pool, error) { return f.Pool(ctx, st, o.maxRate, obs) })
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return p, nil
}

// tokenOrg reads the organization of api's token (GET /api/v2/tokens/me,
// which changes nothing and needs no permission) and the rate-limit
// headers of the answer.
func tokenOrg(ctx context.Context, api *genesys.Client) (cm.Org, genesys.RateLimit, error) {
	info, resp, err := api.Tokens.Me(ctx)
	if err != nil {
		return cm.Org{}, genesys.RateLimit{}, fmt.Errorf("reading the token's organization (GET /api/v2/tokens/me): %w", err)
	}
	var rl genesys.RateLimit
	if resp != nil {
		rl = resp.RateLimit
	}
	if info.Organization == nil || info.Organization.ID == "" {
		return cm.Org{}, rl, errors.New("GET /api/v2/tokens/me named no organization")
	}
	return cm.Org{ID: info.Organization.ID, Name: info.Organization.Name}, rl, nil
}

// checkOrg compares the organization of api's token with the one st (shown
// as name) is bound to, before the command sends anything that changes the
// store or the platform. With bind (scan), a store bound to no
// organization yet is bound to the token's. It returns the token's
// organization and the rate-limit headers of tokens/me, or EINVALID (exit
// 2) naming both organizations and the store when they differ, or, without
// bind, when the store is bound to none.
func checkOrg(ctx context.Context, st cm.Store, name string, api *genesys.Client, bind bool, source string) (cm.Org, genesys.RateLimit, error) {
	tok, rl, err := tokenOrg(ctx, api)
	if err != nil {
		return tok, rl, err
	}
	have, err := st.Org(ctx)
	switch {
	case cm.IsCode(err, cm.ENOTFOUND) && bind:
		tok.Source = source
		err = st.BindOrg(ctx, tok)
		if cm.IsCode(err, cm.ECONFLICT) { // bound meanwhile by another process
			if have, err = st.Org(ctx); err == nil {
				return tok, rl, orgMismatch(name, have, tok)
			}
		}
		return tok, rl, err
	case cm.IsCode(err, cm.ENOTFOUND):
		return tok, rl, cm.Errorf(cm.EINVALID, "store %s is bound to no organization (it was filled by an older contactmerge, or its first scan failed): "+
			"run 'contactmerge scan' to bind it to %s first; nothing was changed", name, tok)
	case err != nil:
		return tok, rl, err
	case have.ID != tok.ID:
		return tok, rl, orgMismatch(name, have, tok)
	}
	return tok, rl, nil
}

// orgMismatch is the error of a store of organization have used with a
// token of organization tok.
func orgMismatch(name string, have, tok cm.Org) error {
	if have.Offline() {
		return cm.Errorf(cm.EINVALID, "store %s holds an offline import: its contacts were not read from %s, "+
			"whose credentials are configured; nothing was changed. Import the file into a new store with "+
			"'contactmerge import --org %s FILE' if it is an export of that organization, or scan into a new store (--db)",
			name, tok, tok.ID)
	}
	return cm.Errorf(cm.EINVALID, "store %s belongs to organization %s, but the configured credentials are for %s; "+
		"nothing was changed. Use that organization's credentials, or another store (--db or CONTACTMERGE_DB)",
		name, have, tok)
}
