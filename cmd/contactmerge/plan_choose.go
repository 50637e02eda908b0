package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

// planChoice is a steward's choice with plan approve --group G: the
// survivor (--survivor) and the member each field is taken from (--take
// FIELD=CONTACT_ID, repeatable), applied by review.Choose under the matcher
// configuration --config.
type planChoice struct {
	survivor string
	takes    []string          // --take as given
	take     map[string]string // parsed: canonical field name → contact id
	config   string
}

func (c *planChoice) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.survivor, "survivor", "", "with one --group: this member survives (its values win)")
	cmd.Flags().StringArrayVar(&c.takes, "take", nil, "with one --group: FIELD=CONTACT_ID takes FIELD of the merged record from that member (repeatable)")
	cmd.Flags().StringVar(&c.config, "config", "", "with --survivor/--take: the JSON matcher configuration the groups were matched with")
}

// given reports whether a survivor or a field was chosen.
func (c *planChoice) given() bool { return c.survivor != "" || len(c.take) > 0 }

// parse checks the flags (groups: the number of --group flags) and fills
// take. Fields are cm.ContactFields names that survivorship fills
// (match.TakeField), given once each.
func (c *planChoice) parse(groups int) error {
	c.take = nil
	for _, t := range c.takes {
		field, id, ok := strings.Cut(t, "=")
		field, id = strings.TrimSpace(field), strings.TrimSpace(id)
		if !ok || field == "" || id == "" {
			return usageErrorf("--take %q: give FIELD=CONTACT_ID", t)
		}
		name, err := match.TakeField(field)
		if err != nil {
			return usageErrorf("--take %s: %v", t, err)
		}
		if c.take == nil {
			c.take = map[string]string{}
		}
		if prev, dup := c.take[name]; dup {
			return usageErrorf("--take %s: %s is already taken from %s", t, name, prev)
		}
		c.take[name] = id
	}
	if !c.given() && c.config != "" {
		return usageErrorf("--config goes with --survivor or --take")
	}
	if c.given() && groups != 1 {
		return usageErrorf("--survivor and --take choose within one group: give exactly one --group")
	}
	return nil
}

// approve approves g with the choice (review.Choose): the merged record is
// recomputed with it in the same transition.
func (c *planChoice) approve(ctx context.Context, st cm.Store, g cm.Group, d cm.Decision) (cm.Group, error) {
	cfg, err := loadMatchConfig(c.config)
	if err != nil {
		return cm.Group{}, err
	}
	d.Survivor, d.Take = c.survivor, c.take
	return review.Choose(ctx, st, g, d, cfg.SurviveOptions())
}
