package main

import (
	"context"
	"time"

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
	met := f.Metrics
	return genesys.NewClient(ctx, genesys.Config{
		Region: region, ClientID: id, ClientSecret: secret, Logger: f.Logger, RatePerMinute: ratePerMinute,
		UserAgent: "contactmerge",
		Observer: func(ri genesys.RequestInfo) {
			if observe != nil {
				observe(ri) // the engine records into the same registry
				return
			}
			engine.ObserveInto(met, ri)
		},
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

func buildPipeline(ctx context.Context, f *Factory, st store.Store, o *runOptions, client func(observe func(genesys.RequestInfo)) (*genesys.Client, error)) (*pipeline, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var eng *engine.Engine
	api, err := client(func(ri genesys.RequestInfo) {
		if eng != nil {
			eng.ObserveRequest(ri)
		}
	})
	if err != nil {
		return nil, err
	}
	eng, err = engine.New(st, api, engine.Config{
		MaxPerRequest: o.maxPerRequest, CheckCases: o.checkCases, AlertWebhook: o.alertWebhook,
		VerifySettle: o.settle, JobTimeout: o.jobTimeout, Logger: f.Logger, Metrics: f.Metrics, Now: f.Now,
		Concurrency: engine.AIMDConfig{Initial: o.concurrency, Max: o.maxConc},
	})
	if err != nil {
		return nil, err
	}
	jc, err := st.NewJobClient(&river.Config{
		Workers:              eng.Workers(),
		Queues:               eng.Queues(),
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    100 * time.Millisecond,
		JobTimeout:           o.jobTimeout,
		RescueStuckJobsAfter: o.rescueAfter,
		Logger:               f.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &pipeline{store: st, api: api, engine: eng, jobs: jc}, nil
}

// openPipeline opens the configured store and builds a pipeline on it with
// the client of the environment. Close it when done.
func openPipeline(ctx context.Context, f *Factory, o *runOptions) (*pipeline, error) {
	st, err := openForPlan(ctx, f)
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
