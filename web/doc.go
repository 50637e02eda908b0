// Package web is contactmerge's console: the pages a data steward reviews
// duplicates on and an operator follows a run on, served by
// `contactmerge serve` together with /metrics, /healthz and the merge
// workers. Pages are html/template rendered on the server; the templates,
// the stylesheet and the one small script (keyboard shortcuts, the
// overview's live update) are embedded: the console needs no network and
// no Node at run time. Charts are SVG drawn on the server.
//
// Every decision goes through package review, the same functions as the
// command line: review.Decide (approve, reject; release a quarantined or
// failed group), review.Split (split members off: cannot-link pairs
// between them and the rest), review.Choose (approve with a survivor and
// per-field values), review.DecideWhere (bulk approval). The console
// re-reads the group and compares the version its page was rendered with
// (cm.Group.Version) before it calls them, and the store's Transition
// checks it again: a group changed meanwhile is refused with a message
// saying so (409), and nothing changes.
//
// # Routes
//
//	GET  /                       overview: contacts, groups by state, the run's progress and ETA,
//	                             charts (merges and requests per minute against the budget, throttled
//	                             share, concurrency); ?partial=1 is its live block
//	GET  /queue                  the review queue: state, min/max confidence, minsize/maxsize,
//	                             division, type, sort (review.SortKeys), after/before (keyset), limit
//	GET  /queue/next             the group after (dir=next) or before the position at in a view
//	GET  /groups/{id}            a group side by side (review.ViewGroup), its merged record with each
//	                             value's origin and what is not kept, a waterfall of each link's
//	                             match weight; 404 for an unknown id
//	POST /groups/{id}/approve    review.Decide (approve)
//	POST /groups/{id}/reject     review.Decide (reject), reason
//	POST /groups/{id}/split      review.Split, member (repeated)
//	POST /groups/{id}/choose     review.Choose, survivor and take.FIELD=member
//	POST /groups/{id}/release    review.Decide (approve) of a quarantined or failed group
//	POST /groups/{id}/restore/preview  a merged group: the plan of restoring the ticked members (restore.go)
//	POST /groups/{id}/restore    carries out the previewed plan (refused, nothing sent, if it changed)
//	GET  /bulk, POST /bulk/preview, POST /bulk/approve
//	                             bulk approval at a confidence threshold: the preview says "N groups,
//	                             M contacts"; the approval applies only if that set is unchanged
//	GET  /quarantine, /failed    quarantined groups (reason, next retry, release now), failed groups
//	                             (the platform's message, approve again)
//	GET  /ledger, /ledger.csv    the ledger, searched by group or contact id; CSV as report writes it
//	GET  /idmap.csv              old id → canonical id (engine.AppliedMerges, review.IDMap), as
//	                             report --id-map; ?format=json for JSON lines
//	GET  /run, POST /run/start, /run/pause, /run/resume
//	                             run control (RunControl): the plan, started once a person confirms it
//	GET  /policy                 the auto-approve policy: its file's guards (Config.Policy), the
//	                             agreement of its verdicts with the stewards' decisions
//	                             (policy.Compare: TP/FP/FN/TN, precision, recall), holds by guard,
//	                             disagreements, the latest cycle's verdicts
//	GET  /sources                where duplicates come from (sources.Compute): by type, division,
//	                             external source, creation month, linking identifier; new
//	                             duplicates per day by source (days=N, default 30)
//	GET  /cycles, POST /cycles/run, /cycles/skip, /cycles/unskip
//	                             scheduled cycles (Config.Cycles): the schedule, the latest cycles
//	                             with their steps, run one now, skip the next scheduled one
//	GET  /river/...              River's own job view (riverqueue.com/riverui), read-only
//	GET  /metrics                Prometheus text format of Config.Gatherer
//	GET  /healthz                each Config.Checks: 200 {"status":"ok"}, else 503
//	GET  /login, POST /login, POST /logout
//
// Keyboard: on a group page a approves, r rejects, j and k go to the next
// and previous group of the queue view it was opened from; on the queue j
// and k move the selection, Enter opens it, a and r decide it. After a
// decision the next group of the view comes up.
//
// # The review queue
//
// The queue is ordered as review.List orders `plan show` (the default,
// "review": proposed groups below the approve threshold first, least
// confident first), but pages through 100,000 groups: review.List loads
// and decodes every group, which takes seconds at that size. The console
// keeps each group's queue columns in memory instead (store.QueueRows:
// state, confidence, members, the members' divisions and contact types;
// no JSON), loaded at start and kept current from the ledger, which names
// every changed group; a page is one pass over them with a keyset cursor
// (sort key, id), then its groups read by id. TestQueueOrderAndPaging
// checks the order against review.List for every sort key.
//
// # Security
//
// Loopback by default: the serve command refuses any other address unless
// the console has a token (Config.Token). With a token, a person logs in
// with a name and the token; the session cookie (HttpOnly, SameSite=Strict)
// is signed with a key derived from the token and never holds it, expires
// after SessionTTL, and its name is the actor of every decision (without a
// token the actor is Config.Actor, serve's --user). Every POST must carry
// the session's CSRF token (an HMAC of the session), else 403 and nothing
// is read or changed; Go's http.CrossOriginProtection refuses cross-origin
// POSTs before that. /metrics accepts the token as a bearer too; /healthz
// and /static need no login. Pages, logs and errors never hold the token
// or a platform secret (TestLoginAndSecrets). A strict
// Content-Security-Policy allows only the console's own script and styles.
//
// # River's job view
//
// riverqueue.com/riverui (v0.22, MPL-2.0) fits both of the store's River
// drivers: its endpoints are generic over the River client, and it has UI
// drivers for riverpgxv5 and riversqlite. It is mounted at /river on the
// job client of the store (Config.Jobs: the concrete *river.Client behind
// store.JobClient), behind the console's login, read-only: its frontend
// posts JSON without the console's CSRF token, and cancelling or deleting
// the engine's jobs by hand is not a console action, so every method but
// GET and HEAD is refused. Its assets are embedded in its module; it needs
// no network either.
//
// # Files
//
//	server.go     Config, RunControl, New, Start, the routes, error pages
//	auth.go       sessions, login, CSRF
//	queue.go      the in-memory review queue and its keyset pages
//	pages.go      the overview, queue, quarantine/failed, run control and health handlers
//	group.go      the group page and its decisions (approve, reject, split, choose, release)
//	restore.go    restore of a merged group's members (package restore), previewed then confirmed
//	bulk.go       bulk approve with its preview
//	ledger.go     the ledger search, ledger CSV and id map downloads
//	series.go     the metric samples behind the charts
//	charts.go     SVG line charts and the match-weight waterfall
//	templates.go  template functions and parsing
//	templates/, static/  the embedded pages, stylesheet and script
//
// The tests run the console on a sandbox organization scanned and matched
// into a SQLite store; the browser tests (browser_test.go) drive headless
// Chromium with chromedp and skip only when no Chromium is installed and CI
// is unset. `go test -run '^$' -bench Queue ./web/` measures the queue page
// on a 100,000-group store.
package web
