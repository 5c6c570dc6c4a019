package track

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// published keeps what a test publisher published, in order, once per
// event id (as a consumer de-duplicating by id would see it).
type published[T any] struct {
	mu  sync.Mutex
	ids map[string]bool
	evs []T
}

// add records ev under id, unless id was recorded before.
func (p *published[T]) add(ev T, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	if !p.ids[id] {
		p.ids[id] = true
		p.evs = append(p.evs, ev)
	}
}

// where returns what was recorded that keep accepts, in order.
func (p *published[T]) where(keep func(T) bool) []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []T
	for _, ev := range p.evs {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// all returns everything recorded, in order.
func (p *published[T]) all() []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.evs)
}

// eventLog is a Publisher that keeps the status events it published.
type eventLog struct {
	published[messages.JobStatusChanged]
}

func (l *eventLog) Publish(_ context.Context, ev *messages.JobStatusChanged, id string) error {
	l.add(*ev, id)
	return nil
}

// of returns the events of job key published at or after since.
func (l *eventLog) of(key string, since time.Time) []messages.JobStatusChanged {
	return l.where(func(ev messages.JobStatusChanged) bool { return ev.Job.Key() == key && !ev.Time.Before(since) })
}

// refusalLog is a RefusalPublisher that keeps the refusals it published.
type refusalLog struct {
	published[messages.ControlRefused]
}

func (l *refusalLog) PublishRefusal(_ context.Context, ev *messages.ControlRefused, id string) error {
	l.add(*ev, id)
	return nil
}

// of returns the refusals of request id.
func (l *refusalLog) of(requestID string) []messages.ControlRefused {
	return l.where(func(ev messages.ControlRefused) bool { return ev.RequestID == requestID })
}

// redeployLog is a Redeployer that keeps the image built events it
// published.
type redeployLog struct{ published[messages.ImageBuilt] }

func (l *redeployLog) Redeploy(_ context.Context, ev *messages.ImageBuilt, id string) error {
	l.add(*ev, id)
	return nil
}

// of returns the events published under request id.
func (l *redeployLog) of(requestID string) []messages.ImageBuilt {
	return l.where(func(ev messages.ImageBuilt) bool { return ev.RequestID == requestID })
}
