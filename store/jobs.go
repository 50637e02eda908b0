package store

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ActiveJobStates are the River job states in which a job is still live:
// waiting, running or about to be retried. Completed, cancelled and
// discarded jobs are not live.
func ActiveJobStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable,
		rivertype.JobStatePending,
		rivertype.JobStateRetryable,
		rivertype.JobStateRunning,
		rivertype.JobStateScheduled,
	}
}

// GroupUniqueOpts are the unique options for per-group jobs whose arguments
// hold only the group id: a second insert while a job of the same kind and
// group is live is skipped (JobInsertResult.UniqueSkippedAsDuplicate), so a
// group is never enqueued twice; once the job has completed, been cancelled
// or discarded, the group may legitimately be enqueued again (a re-run after
// quarantine, a re-plan).
func GroupUniqueOpts() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: ActiveJobStates()}
}
