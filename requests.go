package contactmerge

// RequestCount is a durable counter of the API requests the commands made
// for a store: N HTTP attempts (retries included) of Route that ended with
// Status (0: no response, e.g. a dropped connection). Store.AddRequestCounts
// adds to it and Store.RequestCounts reads it back, so that `status` reports
// every throttled (429) response, including those the ledger does not
// record (retried reads, 429s answered before a merge was applied).
type RequestCount struct {
	Route  string `json:"route"`
	Status int    `json:"status"`
	N      int64  `json:"n"`
}
