package track

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// collect turns the finished polls and the Kubernetes changes into
// decisions and writes them in one pipelined batch.
func (t *Tracker) collect(ctx context.Context) {
	now := t.now()
	updates := map[string]*jobstore.Update{}
	seen := map[string]bool{}
	for {
		var r pollResult
		select {
		case r = <-t.results:
		default:
			goto kube
		}
		delete(t.inflight, r.kind+" "+r.endpoint)
		for _, k := range t.byEndpoint[r.endpoint] {
			j := t.jobs[k]
			if j == nil {
				continue
			}
			u := updateOf(updates, j)
			if r.kind == kindStatus {
				t.applyStatus(j, u, r, now)
				seen[k] = true
			} else {
				t.applyMetrics(j, u, r)
			}
		}
	}
kube:
	t.mu.Lock()
	dirty := t.dirty
	t.dirty = map[string]bool{}
	t.mu.Unlock()
	t.foldOps(updates, now)
	if len(dirty) > 0 {
		for k, j := range t.jobs {
			if seen[k] || !dirty[t.kubeKey(j)] {
				continue
			}
			u := updateOf(updates, j)
			t.decide(j, u, state.REST{Outcome: state.RESTNotPolled}, now)
		}
	}
	t.write(ctx, updates)
	t.dispatchFinals()
}

func updateOf(m map[string]*jobstore.Update, j *jobstore.Job) *jobstore.Update {
	u, ok := m[j.Key]
	if !ok {
		u = &jobstore.Update{Key: j.Key, ExpectVersion: j.Version}
		m[j.Key] = u
	}
	return u
}

// kubeKey is the Flink cluster whose Kubernetes objects decide about j:
// its own, or its session cluster's.
func (t *Tracker) kubeKey(j *jobstore.Job) string {
	id := j.Job.ClusterID
	if j.Mode == messages.ModeSession && j.SessionClusterID != "" {
		id = j.SessionClusterID
	}
	kc := j.Job.KubeCluster
	if kc == "" {
		kc = t.defKube
	}
	return kc + "/" + j.Job.Namespace + "/" + id
}

// kube returns what Kubernetes shows for j; unknown when its cluster is
// not watched.
func (t *Tracker) kube(j *jobstore.Job) state.Kube {
	kc := j.Job.KubeCluster
	if kc == "" {
		kc = t.defKube
	}
	w, ok := t.kubes[kc]
	if !ok {
		return state.Kube{Outcome: state.KubeUnknown}
	}
	id := j.Job.ClusterID
	if j.Mode == messages.ModeSession && j.SessionClusterID != "" {
		id = j.SessionClusterID
	}
	v := w.view(j.Job.Namespace, id)
	if !v.Known {
		return state.Kube{Outcome: state.KubeUnknown}
	}
	return kubeObservation(v.Deployment, v.Pods)
}

// kubeObservation is state.FromKubernetes for a Deployment that may be nil.
func kubeObservation(d *appsv1.Deployment, pods []*corev1.Pod) state.Kube {
	return state.FromKubernetes(d, pods)
}

// applyStatus records a job-status poll of j's JobManager.
func (t *Tracker) applyStatus(j *jobstore.Job, u *jobstore.Update, r pollResult, now time.Time) {
	rest := state.REST{Outcome: state.RESTAnswered}
	if r.err != nil {
		rest = state.REST{Outcome: state.RESTUnreachable, Error: r.err.Error()}
		u.LastError = truncate(r.err.Error(), 256)
	} else {
		if !j.LastPoll.IsZero() {
			t.m.staleness.Observe(r.at.Sub(j.LastPoll).Seconds())
		}
		u.LastPoll = r.at
		t.flinkStates[j.Key] = ""
		for _, o := range r.jobs {
			if o.ID == j.FlinkJobID {
				rest.JobFound = true
				rest.JobState = messages.JobState(o.State)
				t.flinkStates[j.Key] = rest.JobState
				u.StartTime, u.EndTime, u.DurationMS = o.StartTime, o.EndTime, o.Duration.Milliseconds()
			}
		}
	}
	t.decide(j, u, rest, now)
}

// decide runs the state machine for j and records a transition in u.
func (t *Tracker) decide(j *jobstore.Job, u *jobstore.Update, rest state.REST, now time.Time) {
	prev := state.Record{State: underlyingPrev(j.State), Since: j.StateSince, SilentSince: j.SilentSince, Reason: j.Reason}
	d := state.Decide(j.Mode, prev, state.Observation{Time: now, REST: rest, Kube: t.kube(j)}, t.stateCfg)
	d, step := overlay(j, d)
	if !d.SilentSince.Equal(j.SilentSince) {
		s := d.SilentSince
		u.SilentSince = &s
	}
	if d.State != j.State {
		u.Transition = &jobstore.Transition{To: d.State, Reason: d.Reason, Message: truncate(d.Message, 4096), Time: now}
		if step != nil {
			u.Transition.OpRequestID, u.Transition.Operation, u.Transition.SavepointPath = step.requestID, step.operation, step.path
		}
	}
}

// applyMetrics records a cluster-metric poll: the metrics if /overview
// answered, the job's checkpoints if they were read (a final poll reads
// them even when /overview fails).
func (t *Tracker) applyMetrics(j *jobstore.Job, u *jobstore.Update, r pollResult) {
	if r.err == nil {
		t.applyOverview(j, u, r)
	}
	if cp := r.cps[j.FlinkJobID]; cp != nil {
		if c := checkpointSummary(cp); !sameCheckpoints(*c, j.Checkpoints) {
			u.Checkpoints = c
		}
	}
}

// applyOverview records the cluster metrics of an answered metric poll.
func (t *Tracker) applyOverview(j *jobstore.Job, u *jobstore.Update, r pollResult) {
	if r.jmConfig != nil {
		t.jmConfig[r.endpoint] = r.jmConfig
	}
	conf := t.jmConfig[r.endpoint]
	m := jobstore.Metrics{
		TaskManagers: int64(r.overview.TaskManagers), SlotsTotal: int64(r.overview.SlotsTotal),
		SlotsAvailable: int64(r.overview.SlotsAvailable), RunningJobs: int64(r.overview.JobsRunning),
		FlinkVersion: r.overview.FlinkVersion,
	}
	if conf != nil {
		m.JobManagerMemoryBytes = memoryBytes(conf["jobmanager.memory.process.size"])
		m.TaskManagerMemoryBytes = memoryBytes(conf["taskmanager.memory.process.size"])
	}
	// Unchanged metrics are not written again: a fleet's slots and
	// TaskManagers rarely change, and most checkpoint polls of a job
	// between two checkpoints read the same summary.
	if m != j.Metrics {
		u.Metrics = &m
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
