package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
)

// TestCrashes is issue 18's crash profile: jobs flow through two
// replicas of each worker (the alert worker included) while worker processes are SIGKILLed at random
// moments and started again. Four kinds of jobs, in turn: an application
// job upgraded (savepoint mode) once RUNNING, one suspended with a
// savepoint, one left running, and a session job on a shared session
// cluster. Then, per request: one image pushed, one Deployment per run,
// one savepoint trigger per operation, one Flink job per session job, one
// alert per suspension, one
// status event per transition in an unbroken chain, nothing
// dead-lettered, every job in its final state, and no secret anywhere.
func TestCrashes(t *testing.T) {
	p := currentProfile()
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("FLINKFERRY_FAULTS_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("profile %s: %d jobs, %d kills, seed %d (FLINKFERRY_FAULTS_SEED reruns it)", p.name, p.jobs, p.kills, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	s := startStack(t)
	deployments := watchDeployments(t, s)
	const session = "crash-session"
	s.produceJSON(t, s.topics.Submit, fmt.Appendf(nil, `{"request_id": %q, "mode": "session-cluster",
  "job": {"namespace": %q, "cluster_id": %q},
  "flink": {"version": "1.20", "taskmanager": {"memory": "1728m", "slots": 4}}}`, session, dev.Namespace, session))
	if err := waitJob(s, key(session), messages.StateRunning, 3*time.Minute); err != nil {
		t.Fatal(err)
	}

	started := time.Now()
	ch := startChaos(s, rand.New(rand.NewPCG(seed, 1)), p.kills) // its own: it runs beside this goroutine
	ids := make([]string, p.jobs)
	var wg sync.WaitGroup
	errs := make(chan error, p.jobs)
	for i := range ids {
		ids[i] = fmt.Sprintf("crash-%03d", i)
		req := s.request(t, ids[i])
		if kindOf(i) == sessionJob {
			req.Mode, req.SessionClusterID = messages.ModeSession, session
			req.Flink.JobManager, req.Flink.TaskManager = messages.JobManagerResources{}, messages.TaskManagerResources{}
		}
		s.produce(t, s.topics.Submit, req)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.drive(kindOf(i), req)
		}()
		time.Sleep(p.pace/2 + time.Duration(rng.IntN(int(p.pace))))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		ch.stop(t)
		s.logGroups(t)
		t.FailNow()
	}
	kills := ch.stop(t)
	t.Logf("%d jobs through, %d processes killed and restarted, in %s", p.jobs, len(kills), time.Since(started).Round(time.Second))
	for _, k := range kills {
		t.Logf("  %s killed at +%s, restarted %s later", k.proc, k.at.Sub(started).Round(10*time.Millisecond), k.down.Round(10*time.Millisecond))
	}
	if len(kills) < p.kills {
		t.Errorf("%d kills happened, want %d (the jobs were through before the chaos was)", len(kills), p.kills)
	}
	// Room for outboxes and redeliveries to settle before counting.
	time.Sleep(5 * time.Second)

	c := s.collect(t)
	var images, deploys, savepoints, runs, alerts, events []string
	sim := s.kube.Sim.Cluster(session + "-rest")
	for i, id := range ids {
		kind := kindOf(i)
		if n := s.pushes.get("flinkferry/" + id); n != 1 {
			images = append(images, fmt.Sprintf("%s: %d manifest pushes", id, n))
		}
		wantDeploys := map[int]int{upgraded: 2, suspended: 1, running: 1, sessionJob: 0}[kind]
		if n := deployments.created(id); n != wantDeploys {
			deploys = append(deploys, fmt.Sprintf("%s: %d Deployments created, want %d", id, n, wantDeploys))
		}
		if kind == upgraded || kind == suspended {
			if tr := triggerIDs(s.flink.writes(id+"-rest", "/stop")); len(tr) != 1 {
				savepoints = append(savepoints, fmt.Sprintf("%s: stop-with-savepoint trigger ids %v", id, tr))
			}
		}
		if kind == suspended {
			if n := s.alerts.get(key(id) + " firing"); n != 1 {
				alerts = append(alerts, fmt.Sprintf("%s: %d firing notices for its suspension", id, n))
			}
		}
		if kind == sessionJob {
			jid := s.request(t, id).FlinkJobID()
			if n := countJobs(sim, jid); n != 1 {
				runs = append(runs, fmt.Sprintf("%s: %d Flink jobs %s in the session cluster", id, n, jid))
			}
		}
		want := messages.StateRunning
		if kind == suspended {
			want = messages.StateSuspended
		}
		events = append(events, c.chainProblems(key(id), want)...)
	}
	report := func(what string, problems []string) {
		if len(problems) > 0 {
			t.Errorf("%s: %d problems:\n  %s", what, len(problems), strings.Join(problems, "\n  "))
		}
	}
	report("images pushed per request (want 1)", images)
	report("Deployments created per job (want 1)", deploys)
	report("savepoints triggered per suspend or upgrade (want 1 trigger id)", savepoints)
	report("session jobs started per job (want 1)", runs)
	report("alerts delivered per suspension (want 1, webhook of the alert workers)", alerts)
	report("status events per transition (want one, in an unbroken chain)", events)
	if len(c.deadLetters) > 0 {
		t.Errorf("%d records dead-lettered: %v", len(c.deadLetters), c.deadLetters)
	}
	s.secretHits(t)
	t.Logf("counted: %d status events (%d distinct ids, %d republished with the same id), %d manifest pushes, %d Deployments, %d dead letters",
		c.records, len(c.ids), c.republished, s.pushes.total(), deployments.total(), len(c.deadLetters))
}

// Kinds of jobs of the crash profile, by index.
const (
	upgraded = iota
	suspended
	running
	sessionJob
)

func kindOf(i int) int { return i % 4 }

// drive takes job req through its kind's life once it was submitted.
func (s *stack) drive(kind int, req *messages.SubmitRequested) error {
	k := req.Job.Key()
	if err := waitJob(s, k, messages.StateRunning, 4*time.Minute); err != nil {
		return err
	}
	switch kind {
	case upgraded:
		up := *req
		up.RequestID = "upgrade-" + req.Job.ClusterID
		up.Flink.Parallelism = 2
		if err := s.send(s.topics.Submit, &up); err != nil {
			return err
		}
		return waitRun(s, k, messages.StateRunning, up.RequestID, 4*time.Minute)
	case suspended:
		if err := s.send(s.topics.Control, &messages.ControlRequested{
			RequestID: "suspend-" + req.Job.ClusterID, Job: req.Job, Operation: messages.OpSuspend}); err != nil {
			return err
		}
		return waitJob(s, k, messages.StateSuspended, 4*time.Minute)
	}
	return nil
}

// waitJob polls the job store until the job is in state want.
func waitJob(s *stack, key string, want messages.JobState, within time.Duration) error {
	return waitRun(s, key, want, "", within)
}

// waitRun polls the job store until the job is in state want, in the run
// of request id run (any run when empty).
func waitRun(s *stack, key string, want messages.JobState, run string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		j, err := s.store.Get(context.Background(), key)
		if err == nil {
			if j.State == want && (run == "" || j.RequestID == run) {
				return nil
			}
			last = fmt.Sprintf("%s of run %s (reason %q, message %q)", j.State, j.RequestID, j.Reason, j.Message)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("job %s: not %s (run %q) within %s; last %s", key, want, run, within, last)
}

// kill is one injected crash.
type kill struct {
	proc string
	at   time.Time
	down time.Duration
}

// chaos SIGKILLs a random worker process every 1–4 s and starts it again
// 0.2–1.5 s later, n times.
type chaos struct {
	quit chan struct{}
	done chan struct{}
	mu   sync.Mutex
	log  []kill
	errs []error
}

func startChaos(s *stack, rng *rand.Rand, n int) *chaos {
	c := &chaos{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for range n {
			select {
			case <-c.quit:
				return
			case <-time.After(time.Second + time.Duration(rng.IntN(3000))*time.Millisecond):
			}
			p := s.procs[rng.IntN(len(s.procs))]
			at, err := p.Kill()
			if err == nil {
				time.Sleep(200*time.Millisecond + time.Duration(rng.IntN(1300))*time.Millisecond)
				err = p.Start()
			}
			c.mu.Lock()
			if err != nil {
				c.errs = append(c.errs, err)
			} else {
				c.log = append(c.log, kill{proc: p.Name, at: at, down: time.Since(at)})
			}
			c.mu.Unlock()
		}
	}()
	return c
}

// stop waits for the chaos to end (all its kills, or at once when the
// load is through: it is stopped then) and returns what it did.
func (c *chaos) stop(t *testing.T) []kill {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		close(c.quit)
		<-c.done
	}
	for _, err := range c.errs {
		t.Error(err)
	}
	return c.log
}

// deploymentLog records the UIDs of the JobManager Deployments seen, per
// name: a Deployment created twice has two.
type deploymentLog struct {
	mu   sync.Mutex
	uids map[string]map[string]bool
}

func watchDeployments(t *testing.T, s *stack) *deploymentLog {
	t.Helper()
	l := &deploymentLog{uids: map[string]map[string]bool{}}
	f := informers.NewSharedInformerFactoryWithOptions(s.kube.Client, 0, informers.WithNamespace(dev.Namespace))
	inf := f.Apps().V1().Deployments().Informer()
	record := func(obj any) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.uids[d.Name] == nil {
			l.uids[d.Name] = map[string]bool{}
		}
		l.uids[d.Name][string(d.UID)] = true
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: record, UpdateFunc: func(_, n any) { record(n) }}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); f.Shutdown() })
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("Deployment informer did not sync")
	}
	return l
}

func (l *deploymentLog) created(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.uids[name])
}

func (l *deploymentLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, u := range l.uids {
		n += len(u)
	}
	return n
}

// triggerIDs returns the distinct triggerId fields of the calls' bodies.
func triggerIDs(calls []flinkCall) []string {
	seen := map[string]bool{}
	for _, c := range calls {
		var b struct {
			TriggerID string `json:"triggerId"`
		}
		_ = json.Unmarshal([]byte(c.body), &b)
		seen[b.TriggerID] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// countJobs is how many jobs with Flink job id jid the simulated cluster
// runs or ran.
func countJobs(c *flinksim.Cluster, jid string) int {
	if c == nil {
		return 0
	}
	n := 0
	for _, j := range c.Jobs() {
		if j.ID() == jid {
			n++
		}
	}
	return n
}
