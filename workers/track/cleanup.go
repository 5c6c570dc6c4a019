package track

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Flink's label on its high-availability ConfigMaps
// (KubernetesUtils.getConfigMapLabels: type, app and configmap-type).
const (
	labelConfigMapType = "configmap-type"
	configMapTypeHA    = "high-availability"
	// cleanupPageSize bounds each List of objectsLeft and of the Services
	// cleanCluster deletes one by one.
	cleanupPageSize = 500
)

// errCleanupRefused marks what retrying cannot fix: a namespace or cluster
// id that is not a DNS label, or a Deployment named like the cluster that
// is not Flink's. Test with errors.Is.
var errCleanupRefused = errors.New("cluster cleanup refused")

// clusterSelectors are the label selectors of one Flink cluster's objects.
type clusterSelectors struct {
	// flink selects app=<id>,type=flink-native-kubernetes: every object
	// Flink's client, the JobManager and the submit worker create for the
	// cluster, HA ConfigMaps included. Nothing outside it is ever deleted
	// (except the checked Deployment named <id>).
	flink string
	// ha selects app=<id>,configmap-type=high-availability: objectsLeft
	// counts these too, so an HA ConfigMap that lost its type label shows
	// up as left instead of silently restoring an old job on the next start.
	ha string
}

// selectorsFor validates namespace and clusterID as DNS labels (a cluster id
// is a DNS-1035 label, as Flink requires) before building the selectors, so
// that a hostile id such as "x,app!=y" cannot widen them.
func selectorsFor(namespace, clusterID string) (clusterSelectors, error) {
	var problems []string
	for _, m := range validation.IsDNS1123Label(namespace) {
		problems = append(problems, fmt.Sprintf("namespace %.80q: %s", namespace, m))
	}
	for _, m := range validation.IsDNS1035Label(clusterID) {
		problems = append(problems, fmt.Sprintf("cluster id %.80q: %s", clusterID, m))
	}
	if len(problems) > 0 {
		return clusterSelectors{}, fmt.Errorf("%w: %s", errCleanupRefused, strings.Join(problems, "; "))
	}
	flink, err := labels.ValidatedSelectorFromSet(labels.Set{labelApp: clusterID, labelType: labelTypeValue})
	if err != nil {
		return clusterSelectors{}, fmt.Errorf("%w: %v", errCleanupRefused, err)
	}
	ha, err := labels.ValidatedSelectorFromSet(labels.Set{labelApp: clusterID, labelConfigMapType: configMapTypeHA})
	if err != nil {
		return clusterSelectors{}, fmt.Errorf("%w: %v", errCleanupRefused, err)
	}
	return clusterSelectors{flink: flink.String(), ha: ha.String()}, nil
}

// cleanCluster removes the Kubernetes objects of the Flink cluster clusterID
// in namespace, as the Flink operator does when it deletes a cluster:
//
//   - the JobManager Deployment named clusterID, with background
//     propagation (ConfigMaps, Services and TaskManager pods it owns follow
//     by garbage collection), but only when it carries
//     type=flink-native-kubernetes; otherwise it is left alone and reported
//     as an error wrapping errCleanupRefused;
//   - then whatever is labelled app=<clusterID>,type=flink-native-kubernetes
//     among Deployments, ConfigMaps (the high-availability ConfigMaps, which
//     nothing owns, carry both labels), Pods and Services, so the cleanup
//     also completes where no garbage collector runs or an ownerReference is
//     missing. Services are listed and deleted one by one (client-go has no
//     DeleteCollection for them, and older API servers refuse it).
//
// Nothing without both labels is deleted, except that Deployment. NotFound
// is success, and calling it again is harmless. A single call may leave
// objects behind: a JobManager still shutting down can recreate its HA
// ConfigMaps, and garbage collection takes a while. Callers repeat it until
// objectsLeft reports 0. Every step is tried; the errors are joined.
func cleanCluster(ctx context.Context, cs kubernetes.Interface, namespace, clusterID string) error {
	sel, err := selectorsFor(namespace, clusterID)
	if err != nil {
		return err
	}
	errs := []error{deleteJobManagerDeployment(ctx, cs, namespace, clusterID)}

	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	for _, c := range []struct {
		kind   string
		delete func(context.Context, metav1.DeleteOptions, metav1.ListOptions) error
	}{
		{"Deployments", cs.AppsV1().Deployments(namespace).DeleteCollection},
		{"ConfigMaps", cs.CoreV1().ConfigMaps(namespace).DeleteCollection},
		{"Pods", cs.CoreV1().Pods(namespace).DeleteCollection},
	} {
		err := c.delete(ctx, del, metav1.ListOptions{LabelSelector: sel.flink})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the %s %s in %s: %w", c.kind, sel.flink, namespace, err))
		}
	}
	errs = append(errs, deleteServices(ctx, cs, namespace, sel.flink))
	return errors.Join(errs...)
}

// deleteRunMark removes the submit worker's run mark of clusterID (a
// delete forgets the job; a suspend or a cancel keeps the mark, so a
// redelivered request does not start the ended run again).
func deleteRunMark(ctx context.Context, cs kubernetes.Interface, namespace, clusterID string) error {
	sel, err := labels.ValidatedSelectorFromSet(labels.Set{labelRunsOf: clusterID, labelManagedBy: "flinkferry"})
	if err != nil {
		return fmt.Errorf("%w: %v", errCleanupRefused, err)
	}
	err = cs.CoreV1().ConfigMaps(namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the run mark of %s/%s: %w", namespace, clusterID, err)
	}
	return nil
}

// deleteJobManagerDeployment deletes the Deployment named clusterID if it
// carries type=flink-native-kubernetes. The delete is conditional on the
// uid and resourceVersion that were checked, so a Deployment replaced or
// relabelled in between is not deleted (the check is then repeated).
func deleteJobManagerDeployment(ctx context.Context, cs kubernetes.Interface, namespace, clusterID string) error {
	deps := cs.AppsV1().Deployments(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deps.Get(ctx, clusterID, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Labels[labelType] != labelTypeValue {
			return fmt.Errorf("%w: it has no label %s=%s, so it is not a Flink cluster's; left alone", errCleanupRefused, labelType, labelTypeValue)
		}
		bg := metav1.DeletePropagationBackground
		err = deps.Delete(ctx, clusterID, metav1.DeleteOptions{
			PropagationPolicy: &bg,
			Preconditions:     &metav1.Preconditions{UID: &d.UID, ResourceVersion: &d.ResourceVersion},
		})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting the Deployment %s/%s: %w", namespace, clusterID, err)
	}
	return nil
}

// deleteServices deletes the Services matching selector one by one, each
// conditional on the uid that was listed.
func deleteServices(ctx context.Context, cs kubernetes.Interface, namespace, selector string) error {
	type service struct {
		name string
		uid  types.UID
	}
	var found []service
	err := eachListed(ctx, listOf(cs.CoreV1().Services(namespace).List), selector, func(o metav1.Object) {
		found = append(found, service{o.GetName(), o.GetUID()})
	})
	if err != nil {
		return fmt.Errorf("listing the Services %s in %s: %w", selector, namespace, err)
	}
	var errs []error
	bg := metav1.DeletePropagationBackground
	for _, s := range found {
		err := cs.CoreV1().Services(namespace).Delete(ctx, s.name, metav1.DeleteOptions{
			PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &s.uid},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the Service %s/%s: %w", namespace, s.name, err))
		}
	}
	return errors.Join(errs...)
}

// objectsLeft counts what is left of the Flink cluster clusterID in
// namespace: the Deployment named clusterID if it carries
// type=flink-native-kubernetes, and the Deployments, ConfigMaps, Services
// and Pods labelled app=<clusterID>,type=flink-native-kubernetes, plus the
// ConfigMaps labelled app=<clusterID>,configmap-type=high-availability, each
// object once. Objects being deleted (deletionTimestamp set) count as left.
// It lists by label selector in pages of cleanupPageSize. On error the count
// is 0 and means nothing.
func objectsLeft(ctx context.Context, cs kubernetes.Interface, namespace, clusterID string) (int, error) {
	sel, err := selectorsFor(namespace, clusterID)
	if err != nil {
		return 0, err
	}
	left := map[types.UID]struct{}{}
	d, err := cs.AppsV1().Deployments(namespace).Get(ctx, clusterID, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return 0, fmt.Errorf("getting the Deployment %s/%s: %w", namespace, clusterID, err)
	case d.Labels[labelType] == labelTypeValue:
		left[d.UID] = struct{}{}
	}
	for _, l := range []struct {
		kind, selector string
		list           listFunc
	}{
		{"Deployments", sel.flink, listOf(cs.AppsV1().Deployments(namespace).List)},
		{"ConfigMaps", sel.flink, listOf(cs.CoreV1().ConfigMaps(namespace).List)},
		{"ConfigMaps", sel.ha, listOf(cs.CoreV1().ConfigMaps(namespace).List)},
		{"Services", sel.flink, listOf(cs.CoreV1().Services(namespace).List)},
		{"Pods", sel.flink, listOf(cs.CoreV1().Pods(namespace).List)},
	} {
		// uids are unique across kinds: one set counts each object once.
		err := eachListed(ctx, l.list, l.selector, func(o metav1.Object) { left[o.GetUID()] = struct{}{} })
		if err != nil {
			return 0, fmt.Errorf("listing the %s %s in %s: %w", l.kind, l.selector, namespace, err)
		}
	}
	return len(left), nil
}

// listFunc is a typed clientset's List, returning its list as an object.
type listFunc func(context.Context, metav1.ListOptions) (runtime.Object, error)

// listOf adapts a typed List method (cs.CoreV1().Pods(ns).List) to listFunc.
func listOf[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error)) listFunc {
	return func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return list(ctx, opts)
	}
}

// eachListed calls fn for every object list returns for selector, page by
// page (cleanupPageSize objects at a time).
func eachListed(ctx context.Context, list listFunc, selector string, fn func(metav1.Object)) error {
	opts := metav1.ListOptions{LabelSelector: selector, Limit: cleanupPageSize}
	for {
		page, err := list(ctx, opts)
		if err != nil {
			return err
		}
		err = meta.EachListItem(page, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err != nil {
				return err
			}
			fn(m)
			return nil
		})
		if err != nil {
			return err
		}
		lm, err := meta.ListAccessor(page)
		if err != nil {
			return err
		}
		if lm.GetContinue() == "" {
			return nil
		}
		opts.Continue = lm.GetContinue()
	}
}
