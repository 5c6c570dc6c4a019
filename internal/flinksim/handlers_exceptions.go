package flinksim

import "net/http"

// jobExceptions is Flink's JobExceptionsInfoWithHistory. The deprecated
// root-exception and timestamp are null until the job failed once.
type jobExceptions struct {
	RootException    *string          `json:"root-exception"`
	Timestamp        *int64           `json:"timestamp"`
	AllExceptions    []struct{}       `json:"all-exceptions"`
	Truncated        bool             `json:"truncated"`
	ExceptionHistory exceptionHistory `json:"exceptionHistory"`
}

type exceptionHistory struct {
	Entries   []rootExceptionInfo `json:"entries"`
	Truncated bool                `json:"truncated"`
}

type rootExceptionInfo struct {
	ExceptionName        string            `json:"exceptionName"`
	Stacktrace           string            `json:"stacktrace"`
	Timestamp            int64             `json:"timestamp"`
	TaskName             string            `json:"taskName,omitempty"`
	Location             string            `json:"location,omitempty"`
	TaskManagerID        string            `json:"taskManagerId,omitempty"`
	FailureLabels        map[string]string `json:"failureLabels"`
	ConcurrentExceptions []struct{}        `json:"concurrentExceptions"`
}

func handleExceptions(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, _ := c.lockJob(w, p)
	if j == nil {
		return
	}
	out := jobExceptions{AllExceptions: []struct{}{}, ExceptionHistory: exceptionHistory{Entries: []rootExceptionInfo{}}}
	for i, e := range j.exceptions {
		if i == 0 {
			stack, at := e.stack, e.at
			out.RootException, out.Timestamp = &stack, &at
		}
		out.ExceptionHistory.Entries = append(out.ExceptionHistory.Entries, rootExceptionInfo{
			ExceptionName: e.name, Stacktrace: e.stack, Timestamp: e.at, TaskName: e.taskName,
			Location: e.location, TaskManagerID: e.tm, FailureLabels: map[string]string{},
			ConcurrentExceptions: []struct{}{},
		})
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
