package dev

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	cs.PrependReactor("delete-collection", "*", deleteCollection(cs.Tracker()))
	return cs
}

// collectionKinds are the kinds of the resources deleteCollection
// serves: those the track worker removes a Flink cluster's objects of.
var collectionKinds = map[schema.GroupVersionResource]schema.GroupVersionKind{
	{Version: "v1", Resource: "pods"}:                       {Version: "v1", Kind: "Pod"},
	{Version: "v1", Resource: "configmaps"}:                 {Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Resource: "services"}:                   {Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Resource: "deployments"}: {Group: "apps", Version: "v1", Kind: "Deployment"},
}

// deleteCollection does what the fake leaves out of DeleteCollection
// (it deletes nothing and says nothing): delete every object of the
// namespace the label selector matches.
func deleteCollection(tracker clienttesting.ObjectTracker) clienttesting.ReactionFunc {
	return func(action clienttesting.Action) (bool, runtime.Object, error) {
		dc, ok := action.(clienttesting.DeleteCollectionAction)
		gvk, known := collectionKinds[action.GetResource()]
		if !ok || !known {
			return false, nil, nil
		}
		list, err := tracker.List(action.GetResource(), gvk, action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return true, nil, err
		}
		sel := dc.GetListRestrictions().Labels
		for _, item := range items {
			m, err := meta.Accessor(item)
			if err != nil || (sel != nil && !sel.Matches(labels.Set(m.GetLabels()))) {
				continue
			}
			if err := tracker.Delete(action.GetResource(), m.GetNamespace(), m.GetName()); err != nil && !apierrors.IsNotFound(err) {
				return true, nil, err
			}
		}
		return true, nil, nil
	}
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
