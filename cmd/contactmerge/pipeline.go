package main

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

// This file builds the API client and the engine: Factory.Client and
// ClientFor, and the pipeline of run, worker and the demo.

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
func buildPipeline(_ context.Context, f *Factory, st store.Store, o *runOptions, client engine.ClientFunc) (*pipeline, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg := engine.DefaultConfig()
	cfg.MaxPerRequest, cfg.CheckCases, cfg.AlertWebhook = o.maxPerRequest, o.checkCases, o.alertWebhook
	cfg.VerifySettle, cfg.JobTimeout, cfg.RescueAfter = o.settle, o.jobTimeout, o.rescueAfter
	cfg.Concurrency.Initial, cfg.Concurrency.Max = o.concurrency, o.maxConc
	cfg.Logger, cfg.Metrics, cfg.Now = f.Logger, f.Metrics, f.Now
	eng, err := engine.New(st, cfg, client)
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
// the client of the environment. Close it when done.
func openPipeline(ctx context.Context, f *Factory, o *runOptions) (*pipeline, error) {
	st, err := f.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	p, err := buildPipeline(ctx, f, st, o, func(obs func(genesys.RequestInfo)) (*genesys.Client, error) { return f.Client(ctx, o.maxRate, obs) })
	if err != nil {
		st.Close()
		return nil, err
	}
	return p, nil
}
