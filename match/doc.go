// Package match finds duplicate contacts: normalization, blocking,
// Fellegi-Sunter scoring with weights learned from the data, clustering with
// protection against chaining, survivorship and explanations.
//
// # Pipeline
//
// Run (or MatchContacts for contacts in memory) goes through these phases;
// Stats.Durations times each of them.
//
//  1. normalize: every contact has a compact normalized form (Norm), which
//     stores compute on write with NormalizerFunc (a versioned binary
//     encoding: first byte NormVersion, then the NormFingerprint of the
//     normalization settings, DefaultRegion and Email, it was made under).
//     Run uses a stored norm only when its version and fingerprint are its
//     own config's; it normalizes every other contact from its JSON
//     (Stats.Normalized), so a store written under the default config still
//     matches correctly with "defaultRegion": "GB". Emails are trimmed and
//     lower-cased, with provider rules (Gmail ignores dots, several
//     providers ignore "+tags", googlemail.com is gmail.com). Phones become
//     E.164 (the record's e164 first, else its display parsed with its
//     normalizationCountryCode or Config.DefaultRegion). Names are folded
//     (Unicode marks removed, punctuation dropped, honorifics and suffixes
//     removed); nicknames are resolved at comparison time (bob = robert,
//     liz = elizabeth, sam = samuel or samantha). Addresses are folded and
//     abbreviated (street → st, apartment → #) with the street number and unit
//     extracted. External ids are (source, value); custom fields keep their
//     key, and date-like values become YYYYMMDD. Run decodes the norms into
//     interned columns (one integer per value), so a million contacts never
//     exist as decoded cm.Contact structs.
//  2. block: candidate pairs come from several blocking rules OR-ed together
//     (Config.Blocking): same email, phone, external id or custom value;
//     same name; Soundex of both names + postal code; family name + initial
//     + city; name + date-like custom field; street line + postal code; and
//     more. A block larger than MaxBlockSize (a switchboard number, an info@
//     mailbox, a very common name) is skipped and reported
//     (Stats.SkippedBlocks, Stats.Skipped). EvaluateBlocking measures pair
//     completeness against known truth.
//  3. em and score: each comparison (Config.Comparisons; every custom field
//     and external id takes part by default) puts a pair at one level:
//     exact, fuzzy bands (Jaro-Winkler, Damerau-Levenshtein, nickname, typo,
//     swapped given and family names, last seven phone digits, ...),
//     "different", or "missing" when a side has no value.
//  4. cluster: links (pairs at or above MatchThreshold) are joined into
//     groups strongest first, under three rules against chaining (below).
//  5. survive: SurviveGroup picks each group's survivor (Survival.Rule says
//     which criterion of Config.Survivor decided), computes the merged record
//     sent to the platform as valueOverride under the run's DefaultRegion
//     and Email rules (Config.SurviveOptions), and says what became of every
//     member's value (Survival.Fates). A reviewer may choose the survivor and
//     the member each field is taken from (SurviveOptions.Take).
//
// # The model
//
// Fellegi-Sunter: for a pair of contacts and a comparison at level l,
// m(l) = P(level l | same customer) and u(l) = P(level l | different
// customers). Assuming comparisons independent given the match status, the
// match weight of a pair is
//
//	W = log2(λ/(1-λ)) + Σ log2(m(l)/u(l))
//
// where λ is the prior probability that two contacts of a division are the
// same customer; the match probability is 2^W / (1 + 2^W). Every group's
// explanation keeps this waterfall: the prior and each field's level,
// values and weight (cm.PairEvidence).
//
// Nothing is labelled by hand. As in Splink, u is estimated from random
// pairs (300,000 by default, or all pairs of small sets), and m by
// expectation-maximisation: for each blocking rule, EM over that rule's
// candidate pairs alternates between the posterior match probability of
// every comparison pattern (E step) and re-estimating m, u and the match
// share from those posteriors (M step), ignoring the fields the rule fixes
// (pairs blocked on email all agree on email, which says nothing about
// m(email)). Each field's m is the average over the rules that could
// estimate it, weighted by their expected matches. λ is then the fixed point
// of "expected matches among candidates / all pairs". Stats.Model shows the
// learned m, u and weights.
//
// Term-frequency adjustment: an exact agreement on value v weighs
// log2(m/p(v)) instead of log2(m/u), where p(v) is the share of contacts
// holding v. A phone shared by a family of four, or a common surname, is
// weak evidence; a unique email is strong.
//
// Contact-center rules on top of the model:
//   - Household: a family shares a phone, an address and a family name, but
//     not a given name. When the given names disagree (not the same, not a
//     nickname, not a one-letter typo) and the family names do not, the
//     positive weights of the shared contact points count zero
//     (Config.Household). This keeps the independence assumption from
//     adding three correlated agreements into a false merge.
//   - Composite address: street line, postal code, city (and apartment)
//     form one comparison, so one shared address is one piece of evidence.
//   - Switchboards and shared mailboxes are skipped as blocks and, through
//     term frequencies, weigh little where they are compared.
//
// Clustering: links are taken strongest first. Two clusters are joined only
// when (a) the joined group has at most MaxGroupSize members (default 25,
// at most 52, the platform's merge-set limit), (b) at least MinLinkDensity
// (default half) of all pairs across them are links (every cross pair is
// scored, candidate or not): one weak link never joins two strong clusters,
// and (c) no pair across them contradicts (evidence below CannotLinkWeight).
// A group's Confidence is the probability of the weakest link that built
// it. Group ids are cm.GroupID of the sorted members, so a re-run over
// unchanged data proposes the same ids and the store keeps their decisions.
//
// # Stewards' decisions
//
// When the Input is also a ConstraintSource (cm.Store is), Run reads every
// cm.PairConstraint and lets it outrank the model. A must-link pair is a
// link stronger than any score: must-linked records are joined first,
// without the density and conflict rules, so that the usual rules then
// decide what else joins them; a group built from must-links alone has
// Confidence 1. A cannot-link pair is never put in one group, must-link or
// not: every join that would do so is refused (Stats.RefusedJoins
// "cannotLink"). Links being taken strongest first, a component that holds
// a cannot-link pair is cut at the weakest link of the strongest path
// between the two, the same way on every run. So a rejected group is never
// proposed again, nor any subset of it that holds a rejected pair, and a
// split-off member is never grouped with the rest again. Every group's
// explanation notes the decisions that touch its members: the pairs a
// steward linked inside it and the pairs from a member to a contact outside
// it that a steward rejected.
//
// # Configuration file
//
// `contactmerge match --config FILE` reads a JSON file with LoadConfig: the
// file's keys overlay DefaultConfig (JSON names of Config's fields), except
// that each entry of "comparisons" replaces the comparison of that field
// alone. Every problem (bad JSON, a wrong type, an unknown or repeated key,
// a value out of range such as "defaultRegion": "ZZ" or empty "levels") is
// reported as "FILE:LINE:COL: field.path: problem". Example:
//
//	{
//	  "matchThreshold": 0.995,
//	  "maxBlockSize": 200,
//	  "crossDivision": false,
//	  "comparisons": {
//	    "custom.accountNumber": {
//	      "levels": [{"name": "exact", "kind": "exact"}],
//	      "termFrequency": true
//	    },
//	    "phone": {
//	      "levels": [{"name": "exact", "kind": "exact"}, {"name": "last7", "kind": "suffix", "threshold": 7}],
//	      "termFrequency": true,
//	      "weights": {"different": -2}
//	    }
//	  },
//	  "blocking": [
//	    {"name": "email", "keys": ["email"]},
//	    {"name": "phone", "keys": ["phone"]},
//	    {"name": "name", "keys": ["firstNameCanon", "lastName"], "maxBlockSize": 20}
//	  ],
//	  "ignoreCustomFields": ["tier"],
//	  "nicknames": {"wolfgang": ["wolf"]},
//	  "survivor": {"order": ["type", "newest"], "fillFrom": "newest", "packContacts": true}
//	}
//
// "weights" fixes the weight (bits) of named levels instead of learning it.
// See Config, Comparison, Level and BlockingRule for every field and level
// kind.
//
// # Evaluation
//
// PairwiseScores compares groups with true clusters pair by pair. The tests
// assert precision >= 0.99 and F1 >= 0.97 on the FEBRL data sets
// (LoadFEBRL) and on generated organizations (sandbox.Generate) with their
// look-alike traps; benchmarks: `go test -run '^$' -bench . ./match/`, and
// the 1M scale run: `MATCH_1M=1 go test -run TestMatch1M -v ./match/`.
package match
