package messages_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// TestUpgradeFrom: upgrade.from makes a request a move of the job running
// elsewhere (each field defaulting to the request's own); only in mode
// savepoint; naming nothing is an error.
func TestUpgradeFrom(t *testing.T) {
	for _, tt := range []struct {
		name    string
		from    *messages.UpgradeFrom
		mode    messages.UpgradeMode
		want    string // the job moved, "" for none
		wantErr string
	}{
		{name: "no from"},
		{name: "other kube cluster", from: &messages.UpgradeFrom{KubeCluster: "eu-west-1"}, want: "eu-west-1/flink-jobs/orders-enrichment"},
		{name: "other namespace, savepoint", from: &messages.UpgradeFrom{Namespace: "old"}, mode: messages.UpgradeSavepoint, want: "eu-west-2/old/orders-enrichment"},
		{name: "its own place", from: &messages.UpgradeFrom{Namespace: "flink-jobs"}},
		{name: "empty", from: &messages.UpgradeFrom{}, wantErr: "upgrade.from: must name"},
		{name: "stateless", from: &messages.UpgradeFrom{Namespace: "old"}, mode: messages.UpgradeStateless, wantErr: "upgrade.mode: a move (upgrade.from) needs mode savepoint"},
		{name: "bad namespace", from: &messages.UpgradeFrom{Namespace: "Old_NS"}, wantErr: "upgrade.from.namespace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r messages.SubmitRequested
			if err := json.Unmarshal(readFile(t, filepath.Join("testdata", "valid", "submit-application.json")), &r); err != nil {
				t.Fatal(err)
			}
			r.Job.KubeCluster = "eu-west-2"
			r.Upgrade = &messages.UpgradeOptions{Mode: tt.mode, From: tt.from}
			err := r.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			from, moves := r.MovedFrom()
			if got := map[bool]string{true: from.Key(), false: ""}[moves]; got != tt.want {
				t.Errorf("MovedFrom() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSessionJobsAreNotMoved: a session job's request naming upgrade.from
// does not decode (validation_failed, the field upgrade.from saying why):
// the build worker dead-letters it with that reason before anything is
// built, stopped or deployed (docs/decisions.md, "Session jobs are not
// moved").
func TestSessionJobsAreNotMoved(t *testing.T) {
	for _, tt := range []struct {
		file, wantErr string
	}{
		{"submit-session.json", "upgrade.from: only an application job is moved"},
		{"submit-session-cluster.json", "upgrade.from: only an application job is moved"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var r map[string]any
			if err := json.Unmarshal(readFile(t, filepath.Join("testdata", "valid", tt.file)), &r); err != nil {
				t.Fatal(err)
			}
			r["upgrade"] = map[string]any{"from": map[string]any{"kube_cluster": "eu-west-1"}}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = messages.DecodeMessage(nil, messages.TypeSubmitRequested, b)
			if got, want := messages.ReasonOf(err), messages.ReasonValidationFailed; got != want || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeMessage() = %v (reason %q), want reason %q and an error containing %q", err, got, want, tt.wantErr)
			}
		})
	}
}
