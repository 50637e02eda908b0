// Package restore gives back, as far as Genesys Cloud allows, members of a
// group that was merged by mistake (`contactmerge restore`, and the
// console's restore button on a merged group's page).
//
// The platform has no unmerge: a merged-away contact stays a read-only
// alias of the canonical contact for ever (GENESYS_API.md §4, "Unmerge or
// split"). What restore can do is, for each chosen member:
//
//  1. create a new contact from the member's before-image, the record the
//     ledger kept when the merge consumed it (POST
//     /api/v2/externalcontacts/contacts, permission
//     externalContacts:contact:add): its fields, external ids and custom
//     fields as they were, plus one external id of the source
//     MarkerSource whose value (Marker) names the group and the member;
//  2. remove from the canonical contact the values that came only from the
//     restored members (PUT /api/v2/externalcontacts/contacts/{id},
//     permission externalContacts:contact:edit): a value some member that
//     stays merged also had is kept, and a single-valued field falls back
//     to the value of the most recently modified staying member;
//  3. record cannot-link decisions between each restored member (its old
//     and its new id) and the rest (the staying members and the canonical
//     contact), lifting the must-links the group's approval recorded, so no
//     later match or policy merges them again;
//  4. record in the ledger every request, the new ids and a done row per
//     member, the id-map entry old id → restored id (Restorations).
//
// Permissions and endpoints: PY SDK ExternalContactsApi.md
// (post_externalcontacts_contacts, put_externalcontacts_contact,
// post_externalcontacts_identifierlookup_contacts).
//
// What cannot be restored: conversations, notes, cases and journey history
// stay on the old id, which the platform resolves to the canonical contact;
// the restored contact has a new id (and is Curated: it is created through
// the API); identifiers the canonical contact claimed stay with it until it
// releases them.
//
// Before the first create, an update of a contact that does not exist
// probes the edit permission (a 403 stops the restore with nothing sent):
// a client that may create but not edit would leave a copy beside a
// canonical contact that still holds its values.
//
// Exactly once, as merges (package engine): every request's intent is a
// ledger row committed before the request is sent; a create whose outcome
// is unknown (5xx, timeout, reset, a crash) is verified by looking the
// marker up (POST /api/v2/externalcontacts/identifierlookup/contacts,
// type ExternalId) before anything is re-sent, and re-sent only once the
// lookup still finds nothing Config.Settle after the attempt; the update
// is rebuilt from a fresh read of the canonical contact before each attempt
// (after a 409, an ambiguous answer or a crash), which makes it idempotent:
// values already removed are not removed again. A member is restored at
// most once: its done row makes a second restore of it bad input.
//
// Never overwrite an edit: the canonical contact as the store knows it
// (the merge's result, or the record after an earlier restore) is compared
// with the one read now; a field the restore would change that differs
// between the two was edited after the merge, and is a Conflict. A plan
// with conflicts is refused (EINVALID) unless Config.KeepEdited, which
// leaves those fields as they are.
package restore
