package submit

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// FieldManager is the one server-side apply field manager of flinkferry.
const FieldManager = "flinkferry"

// Applied are the uids of the applied objects, by "Kind/name".
type Applied map[string]string

// Apply server-side applies objs: the Deployment first, then, owned by it,
// the ConfigMaps and Services. Applying the same objects again changes
// nothing (same resourceVersion).
func Apply(ctx context.Context, cs kubernetes.Interface, objs *Objects) (Applied, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns := *objs.Deployment.Namespace
	d, err := cs.AppsV1().Deployments(ns).Apply(ctx, objs.Deployment, opts)
	if err != nil {
		return nil, fmt.Errorf("applying Deployment %s/%s: %w", ns, *objs.Deployment.Name, err)
	}
	out := Applied{"Deployment/" + d.Name: string(d.UID)}
	objs.Owned(string(d.UID))
	for _, cm := range objs.ConfigMaps {
		got, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, cm, opts)
		if err != nil {
			return out, fmt.Errorf("applying ConfigMap %s/%s: %w", ns, *cm.Name, err)
		}
		out["ConfigMap/"+got.Name] = string(got.UID)
	}
	for _, s := range objs.Services {
		got, err := cs.CoreV1().Services(ns).Apply(ctx, s, opts)
		if err != nil {
			return out, fmt.Errorf("applying Service %s/%s: %w", ns, *s.Name, err)
		}
		out["Service/"+got.Name] = string(got.UID)
	}
	return out, nil
}
