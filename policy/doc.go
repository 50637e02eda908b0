// Package policy is the guarded auto-approve policy: a file (Load) that
// says which proposed groups contactmerge may approve without a person,
// and Apply, which judges every proposed group of a store and, in enforce
// mode, approves those through the review package.
//
// The guards (Evaluate; each hold names its guard in its reason):
// the group is proposed (a steward's decision is law: a group a person
// approved, rejected or split is never touched, nor one a person decided
// before, nor one that departs from a person's links, review.PolicyHold);
// no member is in a cannot-link pair; confidence at least minConfidence;
// at most maxGroupSize members; no two different ids of one external
// source, no two different dates of birth, no two values of a configured
// unique custom field (a CRM that synced one customer twice keeps two
// records for a reason a person should see); optionally only Ephemeral and
// Identified records into one Curated record (typeRule intoCurated); and,
// across the cycle, at most maxMergesPerCycle approvals, the most
// confident first (the blast radius).
//
// Shadow mode, the default of a new file, approves nothing: it records
// what the policy would approve (store.SavePolicyVerdicts, one row per
// cycle and group), so that an admin can compare it with their own
// decisions (Compare: report policy, the console's policy page) before
// setting "mode": "enforce". A file that would approve everything (no
// minConfidence, or no maxMergesPerCycle) is refused unless it says
// "allowEverything": true.
//
// The file format is the matcher configuration's (match.LoadConfig): one
// JSON object, errors "FILE:LINE:COL: field: problem". Genesys Cloud
// merges 2 to 25 contacts per request (POST
// /api/v2/externalcontacts/contacts/merge, contactIds[2..25]) into a merge
// set of at most 52 (GENESYS_API.md §0 and the merge section); match's
// maxGroupSize already keeps groups within that, so the policy's
// maxGroupSize is the stewards' own, smaller, comfort limit.
package policy
