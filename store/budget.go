package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// The state every process using one OAuth client shares: the client's
// current rate-limit window, with the requests reserved from it so far, and
// its access token (genesys.Budget, genesys.TokenCache; the rules live in
// genesys.BudgetWindow.Reserve, this file only keeps the row and locks it).
// One row per OAuth client id in client_budgets (schema v7). UpdateBudget
// changes a row under a lock that every process respects: on PostgreSQL
// the row is selected FOR UPDATE inside the transaction, on SQLite the
// transaction is BEGIN IMMEDIATE (one writer).

// BudgetStore is the shared-budget API; the Store of both backends
// implements it.
type BudgetStore interface {
	UpdateBudget(ctx context.Context, client string, update func(*ClientBudget)) (ClientBudget, error)
	Budget(ctx context.Context, client string) (ClientBudget, error)
}

var _ BudgetStore = (*dbStore)(nil)

// ClientBudget is the row of one OAuth client. Token is a credential: its
// String and GoString never show it.
type ClientBudget struct {
	Client string
	// Reset is when the current window resets (zero: no window yet); Limit
	// is what it allows every process together, Reserved what was handed
	// out of it.
	Reset           time.Time
	Limit, Reserved int
	// Token is the shared access token ("": none) and TokenRenewAt when it
	// is due for renewal (zero: never).
	Token        string
	TokenRenewAt time.Time
	UpdatedAt    time.Time
}

// String describes b without its token.
func (b ClientBudget) String() string {
	tok := ""
	if b.Token != "" {
		tok = "[REDACTED]"
	}
	return fmt.Sprintf("store.ClientBudget{Client: %q, Reset: %s, Limit: %d, Reserved: %d, Token: %q}",
		b.Client, b.Reset.Format(time.RFC3339), b.Limit, b.Reserved, tok)
}

// GoString describes b without its token (for %#v).
func (b ClientBudget) GoString() string { return b.String() }

// UpdateBudget calls update with client's row (a zero row the first time,
// Client set) under the row's lock, stores what update leaves in it, and
// returns that. update may be called more than once (the transaction is run
// again when PostgreSQL aborts it as a deadlock victim): each call gets the
// row as stored and only the last call's changes are kept. EINVALID for an
// empty client id.
func (s *dbStore) UpdateBudget(ctx context.Context, client string, update func(*ClientBudget)) (ClientBudget, error) {
	if strings.TrimSpace(client) == "" {
		return ClientBudget{}, cm.Errorf(cm.EINVALID, "UpdateBudget needs an OAuth client id")
	}
	var out ClientBudget
	err := s.inTxRetry(ctx, "update budget", func(t tx) error {
		if _, err := t.exec(ctx, "INSERT INTO client_budgets (client_id) VALUES (?) ON CONFLICT (client_id) DO NOTHING", client); err != nil {
			return fmt.Errorf("budget of %s: %w", client, err)
		}
		b, err := scanBudget(t.queryRow(ctx, "SELECT "+budgetColumns+" FROM client_budgets WHERE client_id = ?"+s.b.forUpdate(), client))
		if err != nil {
			return fmt.Errorf("budget of %s: %w", client, err)
		}
		update(&b)
		b.Client, b.UpdatedAt = client, s.clock()
		if _, err := t.exec(ctx, `UPDATE client_budgets SET window_reset = ?, lim = ?, reserved = ?, token = ?, token_renew_at = ?, updated_at = ?
			WHERE client_id = ?`, micros(b.Reset), int64(b.Limit), int64(b.Reserved), b.Token, micros(b.TokenRenewAt), micros(b.UpdatedAt), client); err != nil {
			return fmt.Errorf("budget of %s: %w", client, err)
		}
		out = b
		return nil
	})
	return out, err
}

// Budget returns client's row; a client without one gets a zero row with
// Client set.
func (s *dbStore) Budget(ctx context.Context, client string) (ClientBudget, error) {
	b, err := scanBudget(s.b.reader().queryRow(ctx, "SELECT "+budgetColumns+" FROM client_budgets WHERE client_id = ?", client))
	if errors.Is(err, errNoRows) {
		return ClientBudget{Client: client}, nil
	}
	if err != nil {
		return ClientBudget{}, s.b.translate(fmt.Errorf("budget of %s: %w", client, err))
	}
	return b, nil
}

const budgetColumns = "client_id, window_reset, lim, reserved, token, token_renew_at, updated_at"

func scanBudget(r row) (ClientBudget, error) {
	var b ClientBudget
	var reset, renew, upd, lim, reserved int64
	if err := r.Scan(&b.Client, &reset, &lim, &reserved, &b.Token, &renew, &upd); err != nil {
		return ClientBudget{}, err
	}
	b.Reset, b.TokenRenewAt, b.UpdatedAt = fromMicros(reset), fromMicros(renew), fromMicros(upd)
	b.Limit, b.Reserved = int(lim), int(reserved)
	return b, nil
}
