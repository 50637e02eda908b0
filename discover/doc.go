// Package discover reaches the contacts the scan cannot see. The platform
// lists no automatically created (Ephemeral, Identified) contact in scan,
// search or list results (GENESYS_API.md §3, from the Genesys post on single
// customer view); those its identity resolution could not attach to one
// contact are the multi-channel duplicates of curated ones. They are named
// by the conversations they took part in: the analytics conversation
// details carry each participant's externalContactId. Run reads the
// conversations of the last 31 days (or more, in parts of 31 days), keeps
// the contact ids the store does not hold, reads them in bulk (POST
// /api/v2/externalcontacts/bulk/contacts, which does return auto-created
// contacts) and upserts them; match then compares them with the curated
// contacts like any other (a contact's type is in its record).
//
// # Reading the conversations: the query or the jobs
//
// Two endpoints return conversation details with the same filters
// (conversationFilters, segmentFilters). Run asks for the conversations
// with a segment naming a contact (externalContactId exists), which is a
// filter, so one interval may span 31 days (7 without a filter:
// GENESYS_API.md §0).
//
//   - The synchronous query, POST /api/v2/analytics/conversations/details/query
//     (PY SDK AnalyticsApi.md post_analytics_conversations_details_query;
//     ConversationQuery.md), pages with paging {pageSize, pageNumber};
//     pageSize 200 is the largest a Genesys developer blog post uses
//     (MyPureCloud/developer-center-blog 2022-04-21-Analytics-conversations-api-behavior,
//     which also warns that totalHits moves and pages can repeat records
//     while data is live). One request reads at most 200 conversations.
//   - The asynchronous jobs, POST /api/v2/analytics/conversations/details/jobs
//     (PY SDK AnalyticsApi.md post_analytics_conversations_details_jobs, body
//     AsyncConversationQuery.md: interval, filters, order, limit,
//     startOfDayIntervalMatching; answer AsyncQueryResponse {jobId}), then
//     GET .../jobs/{jobId} until state is FULFILLED (AsyncQueryStatus.md:
//     state, errorMessage, submissionDate, completionDate, expirationDate),
//     then GET .../jobs/{jobId}/results?cursor&pageSize
//     (get_analytics_conversations_details_job_results: "cursor: Indicates
//     where to resume query results (not required for first page)",
//     "pageSize: The desired maximum number of results"; answer
//     AnalyticsConversationAsyncQueryResponse.md: conversations, cursor,
//     dataAvailabilityDate), and DELETE .../jobs/{jobId}. The same methods
//     are in the Go SDK (platformclientv2 analyticsapi.go,
//     conversationsapi.go) and the gc CLI
//     (MyPureCloud/platform-client-sdk-cli docs/gc_analytics_conversations_details_jobs*.md).
//     The SDKs state no maximum pageSize; published extractors ask for
//     1000 a page (Estuary's source-genesys connector, among others found
//     by the code search), so genesys.JobPageSize is 1000 and a refused
//     size is halved. A job reads from the analytics data lake: its results
//     reach dataAvailabilityDate (GET .../jobs/availability gives it too),
//     which can lag the present; a job also returns the conversations that
//     had activity during the interval rather than those that started on
//     a day it touches.
//
// So a job reads up to five times more per request; it costs a submission,
// at least one status poll and a delete besides its pages. For N
// conversations in one 31-day part the query takes ⌈N/200⌉ requests and a
// job 2 + polls + ⌈N/1000⌉ (polls ≥ 1): the job wins from about 800
// conversations a month, which any contact center with auto-created contacts exceeds. Run
// uses jobs by default (Options.Via "jobs") and the query on request
// ("query"), for instance where the data lake lags too much.
//
// # Change notifications (issue 12 item 1): none org-wide for contacts
//
// The Notifications API (PY SDK NotificationsApi.md: POST
// /api/v2/notifications/channels, subscriptions with [{"id": topic}], GET
// /api/v2/notifications/availabletopics) offers External Contacts topics
// only per contact: v2.externalcontacts.contacts.{contactId},
// v2.externalcontacts.contacts.{contactId}.unresolved, their notes,
// journey sessions and segments, and per-organization and per-relationship
// topics (GENESYS_API.md §8, from the SDKs' notificationMappings.json; the
// payload ExternalContactsContactChangedTopicContact carries the merge
// state). No topic names all contacts or the creation of one, and a topic
// needs the id before the contact exists in the store: they cannot replace
// a rescan or announce an auto-created contact. The topics'
// parameters and transports are listed by availabletopics (AvailableTopic.md:
// topicParameters, transports, "Transports that support events for the
// topic"). The Amazon EventBridge integration sends the notification
// topics an administrator selects under Topic Filtering (help.mypurecloud.com
// "Configure the Amazon EventBridge integration", fr-help.mypurecloud.com/articles/configure-the-amazon-eventbridge-integration/:
// "sélectionnez les sujets de notification à envoyer à EventBridge"); no
// source shows an external-contact topic offered there, nor a wildcard over
// contact ids, so whether it would deliver contact changes org-wide is
// UNCONFIRMED. contactmerge therefore implements no notification channel:
// the scan and this discovery are run again at the configured cadence.
//
// # In the scheduled cycle
//
// Package cycle calls Run as the discover step of every cycle, between
// scan and match, with the scan's client (so under the scan budget's
// ceiling of its limiter), after probing the analytics permission
// (genesys.CapConversationJobs, or CapQueryConversations for Via "query";
// a client without it skips the step, which does not fail the cycle). It
// passes as Options.Known the ids its ledger records as merged away
// (engine.AppliedMerges): the conversations of a duplicate merged by an
// earlier cycle still name its old id, which the store no longer holds,
// and would otherwise be read in bulk again by every cycle. The ids a
// discovery itself finds merged away (by someone else) or deleted are
// remembered by the store (UnreadableStore; table discover_unreadable) and
// not read again for Options.Reread (a week): 31 days of conversations
// name them on every cycle in between. By hand:
// `contactmerge scan && contactmerge discover && contactmerge match`.
package discover
