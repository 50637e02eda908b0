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
//     + city; name + date-like custom field; street line + postal code or
//     city; given and family name in either order (swapped names); and
//     more. A block larger than MaxBlockSize (a switchboard number, an info@
//     mailbox, a very common name) is skipped and reported
//     (Stats.SkippedBlocks, Stats.Skipped). EvaluateBlocking and Evaluate
//     measure pair completeness against known truth.
//  3. em and score: each comparison (Config.Comparisons; every custom field
//     and external id takes part by default) puts a pair at one level:
//     exact, fuzzy bands, "different", or "missing" when a side has no
//     value (see Levels below).
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
// Nothing needs labelling by hand. As in Splink, u is estimated from random
// pairs (300,000 by default, or all pairs of small sets), and m by
// expectation-maximisation: for each blocking rule, EM over that rule's
// candidate pairs alternates between the posterior match probability of
// every comparison pattern (E step) and re-estimating m, u and the match
// share from those posteriors (M step), ignoring the fields the rule fixes
// (pairs blocked on email all agree on email, which says nothing about
// m(email)). Each field's m is the average over the rules that could
// estimate it, weighted by their expected matches, with one pseudo-match
// at every level (a level no expected match reached is rare, not
// impossible). λ is then the fixed point of "expected matches among
// candidates / all pairs". Stats.Model shows the learned m, u and weights.
//
// Random pairs are not all non-matches: on small, duplicate-dense data
// (FEBRL 3: one random pair in 2,000 is a match) the matches among them are
// most of the random pairs that agree on an identifier, and u, with it the
// weight of every agreement, would be off by orders of magnitude. After EM,
// u is re-estimated from the random pairs with each pair counting as a
// non-match with weight 1 - p, p its match probability under the model
// (three rounds with λ; refine.go).
//
// Term-frequency adjustment: an exact agreement on value v weighs
// log2(m/u(v)) instead of log2(m/u), where u(v) is the share of records
// held by other customers than the one at hand: (customers holding v - 1) /
// records, the customers being the records joined by candidate pairs at
// probability 0.5 or more under the model without term frequencies, at
// least min(0.5, u·records)/records. A phone shared by a family of four, or
// a common surname, is weak evidence; a unique email is strong; the phone of
// a customer's three records is held by one customer, not three.
//
// # Levels
//
// The default comparisons, after Splink's comparison library
// (moj-analytical-services/splink, splink/internals/comparison_library.py:
// NameComparison's Jaro-Winkler bands, DateOfBirthComparison's exact, one
// edit, within a month and within a year, PostcodeComparison's postcode
// parts) and its FEBRL 3 demo (docs/demos/examples/duckdb/febrl3.nb.py,
// where street number and postcode are separate evidence):
//   - firstName: exact, nickname (the table, a misspelt full name or a
//     misspelt nickname: nik for nicholas through nick), one edit, two edits
//     (names of five letters or more), swapped with the family name,
//     Jaro-Winkler >= 0.92, an initial, Jaro-Winkler >= 0.80, different. An
//     edit only counts as a typo when one of the two names is rare beside
//     the other: john and joan are two names, jhon is john.
//   - lastName: exact, swapped (weight fixed at 0: the swap is one event,
//     weighed once by the given name), Jaro-Winkler >= 0.92 and >= 0.80.
//   - address: one comparison of street line, street number, postal code and
//     city: the same address; the same street line (also without the street
//     number, or at Jaro-Winkler >= 0.9 with no other number) in the same
//     area (postal code equal or one edit away, or city equal or close); the
//     same street line anywhere; the same street name at another number in
//     the same area; the same postal code; the same city; the same first
//     three characters of the postal code.
//   - date custom fields (a date of birth, Config.DateFieldComparison):
//     exact, one digit off or two neighbours swapped, day and month
//     transposed, within 31 days, two edits, within a year.
//   - email: exact, and the same local part at another provider with a fixed
//     weight of 0 (local parts are made of the names, so namesakes share
//     them far more often than random pairs: no evidence either way).
//   - phone: exact, last seven digits (a number without its area code).
//   - external ids and other custom fields: exact, one edit, two edits.
//
// Contact-center rules on top of the model:
//   - Household: a family shares a phone, an address and a family name, but
//     not a given name. When the given names disagree (not the same, not a
//     nickname, not a typo) and the family names do not, the positive
//     weights of the shared contact points count zero (Config.Household).
//     This keeps the independence assumption from adding three correlated
//     agreements into a false merge. The rule is for what it is for: an
//     agreeing unique identifier (an external id, a custom field that is
//     not a date, or a date of birth with the same street line) lifts it,
//     so a changed or replaced given name loses against them
//     (HouseholdRule.KeepWithIdentifiers). One shared mailbox with other
//     phones and another given name is not enough on its own.
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
// # Decisions teach the model
//
// Config.Labels are pairs a steward decided: LabelsFromGroups makes them
// from approved groups (every pair a match) and rejected groups of two,
// LabelsFromSplit from a split group (pairs inside a part match, pairs
// across parts do not); with Config.LearnFromDecisions the must-links and
// cannot-links of a ConstraintSource are labels too. Labels come from a
// review queue, where the model hesitates, not at random, so they do not
// re-estimate m and u as random pairs and EM do: a logistic fit of the
// labels on the model's weight learns a shift of each level's weight that
// at least three labelled pairs show, a separate shift of the contact
// points the household rule zeroes, and a shift of the prior (moving every
// pair against the match threshold), each with a Gaussian prior of 3 bits
// (1 bit for the prior) around 0. Labelled pairs the model weighs below -10
// bits take no part (members of an approved group joined through the
// others). LevelModel.LabelShift and HouseholdShift, Model.Labels and
// Model.LabelShift show what they taught. RankGroups and UncertainPairs
// order a review queue by uncertainty (the entropy of the match
// probability), so that each decision teaches the most.
//
// # Evaluation
//
// Evaluate compares a Result with true clusters (ReadTruth reads them from
// JSON or "contactId,entity" lines): pairwise precision, recall and F1;
// with Config.ReportPairs (Result.Pairs holds every scored candidate pair)
// the loss per stage, every missed true pair placed where it was lost
// (never compared: blocking; scored below the threshold: scoring; a link
// kept apart: clustering) and every false pair (a link of its own, or
// chained), and the reliability table of the pair probabilities (ten bands,
// predicted vs observed share of true pairs) with its expected calibration
// error, and finer bands above 0.5 (HighReliability: 0.9, 0.99, 0.999,
// 0.9999); the group confidences get their own table. ReliabilityTable
// renders a table as text; Evaluation marshals to JSON
// (`match --truth FILE --json`). The tests assert
// precision >= 0.999 and F1 >= 0.998 on each FEBRL data set (LoadFEBRL) and
// an expected calibration error <= 0.03 on FEBRL 3, precision >= 0.998 and
// a recall floor on generated organizations (sandbox.Generate) with their
// look-alike traps, and that 50 decisions raise the next match's F1;
// benchmarks: `go test -run '^$' -bench . ./match/`, and the 1M scale run:
// `MATCH_1M=1 go test -run TestMatch1M -v ./match/`.
//
// # Incremental matching
//
// Match (the match command) keeps a State in the store after every match
// (store.SaveMatch writes it with the groups, in one transaction): the
// model with the data's frequencies scoring reads (term frequencies, the
// value counts of the typo rule), each contact's norm hash, every blocking
// rule's keys, the links and the groups. With it, the weight of a pair is a
// function of its two contacts, and a record's blocking keys of the record
// (the swapped-names key no longer depends on the other records' names);
// clustering breaks ties by contact id, so a component clusters the same
// wherever its record numbers fall. The next match is then incremental
// (see incremental.go): it reads the contacts written since the last
// match (a five-minute margin for slow commits and clocks) and the deleted
// ones (a log a trigger keeps), recomputes the keys of the new and changed
// contacts, scores only the pairs that touch them (and the pairs of
// unchanged contacts in blocks that crossed a rule's size limit, which
// are checked against every rule), and re-clusters the components that
// hold a changed contact, a link added or removed or a changed steward
// decision. Every other group keeps its id, content and decisions
// (Result.Unchanged); the result equals a full match with the kept model
// on the same snapshot (TestIncrementalEqualsFull, and `make
// bench-match-incremental`, which compares the stored groups after 1% of
// a million contacts changed).
//
// The mode (Result.Mode) is incremental unless: there is no state, the
// configuration's fingerprint (ConfigFingerprint, the normalization's
// included) changed, --full was asked (every contact blocked and scored
// with the kept model), --reestimate was asked, or the data drifted: the
// drift is the share of the contacts at the last estimation that were new,
// edited or deleted since (State.DriftShare, summed over the incremental
// matches); above DefaultMaxDrift (10%) the model is estimated again.
//
// The state is named parts (state_codec.go). The base parts are written by
// a full match only and never rewritten: the contacts (ids, modifyDates,
// norm hashes, by slot), the kept model and a part per blocking rule with
// its keys, searched in place; their names end in "@" and the full match
// that wrote them, which the store reads as "immutable" (LoadMatchState
// reads them two at a time, a one-row part without a copy). An incremental
// match writes the small parts: the delta (the contacts and keys changed
// since the base, the window of the margin), the links and the groups.
// LoadState reads, while it loads the state, the writes an incremental
// match starts with (they depend on the state's newest write alone). At a
// million contacts with 1% changed, an incremental match took 1.9 s (2.6 s
// of CPU) and a full one 18 s (29 s of CPU) here: `make
// bench-match-incremental N=1000000`.
package match
