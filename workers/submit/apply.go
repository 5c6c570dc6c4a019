package submit

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// FieldManager is the one server-side apply field manager of flinkferry.
const FieldManager = "flinkferry"

// Applied are the uids of the applied objects, by "Kind/name".
type Applied map[string]string

// Apply server-side applies objs: the Deployment first (its uid goes into
// the others' ownerReferences), then, owned by it, the ConfigMaps,
// Services and the Web UI Ingress, if any, all at once. Applying the same objects again changes nothing
// (same resourceVersion). On failure it returns what was applied and the
// error of the first failed object in the order ConfigMaps, Services, Ingress.
func Apply(ctx context.Context, cs kubernetes.Interface, objs *Objects) (Applied, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns := *objs.Deployment.Namespace
	d, err := cs.AppsV1().Deployments(ns).Apply(ctx, objs.Deployment, opts)
	if err != nil {
		return nil, fmt.Errorf("applying Deployment %s/%s: %w", ns, *objs.Deployment.Name, err)
	}
	objs.Owned(string(d.UID))

	// The owned objects depend on nothing but the Deployment's uid: one
	// round trip for all of them instead of one each.
	type result struct{ key, uid string }
	var applies []func() (result, error)
	for _, cm := range objs.ConfigMaps {
		applies = append(applies, func() (result, error) {
			got, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, cm, opts)
			if err != nil {
				return result{}, fmt.Errorf("applying ConfigMap %s/%s: %w", ns, *cm.Name, err)
			}
			return result{"ConfigMap/" + got.Name, string(got.UID)}, nil
		})
	}
	for _, s := range objs.Services {
		applies = append(applies, func() (result, error) {
			got, err := cs.CoreV1().Services(ns).Apply(ctx, s, opts)
			if err != nil {
				return result{}, fmt.Errorf("applying Service %s/%s: %w", ns, *s.Name, err)
			}
			return result{"Service/" + got.Name, string(got.UID)}, nil
		})
	}
	if in := objs.Ingress; in != nil {
		applies = append(applies, func() (result, error) {
			got, err := cs.NetworkingV1().Ingresses(ns).Apply(ctx, in, opts)
			if err != nil {
				return result{}, fmt.Errorf("applying Ingress %s/%s: %w", ns, *in.Name, err)
			}
			return result{"Ingress/" + got.Name, string(got.UID)}, nil
		})
	}
	results := make([]result, len(applies))
	errs := make([]error, len(applies))
	var wg sync.WaitGroup
	for i, apply := range applies {
		wg.Go(func() { results[i], errs[i] = apply() })
	}
	wg.Wait()

	out := Applied{"Deployment/" + d.Name: string(d.UID)}
	var first error
	for i, r := range results {
		switch {
		case errs[i] != nil && first == nil:
			first = errs[i]
		case errs[i] == nil:
			out[r.key] = r.uid
		}
	}
	return out, first
}
