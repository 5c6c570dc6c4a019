package dev

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// NewFakeClientset returns client-go's in-memory fake clientset (with
// server-side apply and watches from resource versions) that also does
// the API server's part the fake leaves out and the workers rely on: a
// created object gets a uid and a creation timestamp, and a name from
// metadata.generateName. It has no HTTP server: Discovery().RESTClient()
// is nil.
func NewFakeClientset() kubernetes.Interface {
	cs := fake.NewClientset()
	tracker := apiServerTracker{ObjectTracker: cs.Tracker()}
	cs.PrependReactor("*", "*", clienttesting.ObjectReaction(tracker))
	return cs
}

// apiServerTracker fills in the metadata the API server sets on create
// (including creation by server-side apply).
type apiServerTracker struct {
	clienttesting.ObjectTracker
}

// Create names obj from its generateName when it has no name and sets
// its uid and creation timestamp.
func (t apiServerTracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	if m, err := meta.Accessor(obj); err == nil {
		if m.GetName() == "" && m.GetGenerateName() != "" {
			m.SetName(m.GetGenerateName() + rand.String(5))
		}
		created(m)
	}
	return t.ObjectTracker.Create(gvr, obj, ns, opts...)
}

// Apply sets the uid and creation timestamp of an object the apply
// configuration creates.
func (t apiServerTracker) Apply(gvr schema.GroupVersionResource, applyConfiguration runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	if m, err := meta.Accessor(applyConfiguration); err == nil {
		if _, err := t.ObjectTracker.Get(gvr, ns, m.GetName()); apierrors.IsNotFound(err) {
			created(m)
		}
	}
	return t.ObjectTracker.Apply(gvr, applyConfiguration, ns, opts...)
}

func created(m metav1.Object) {
	if m.GetUID() == "" {
		m.SetUID(uuid.NewUUID())
	}
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.Now())
	}
}
