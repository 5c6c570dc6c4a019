package submit

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// TestDeletingTheDeploymentRemovesTheRest: with the garbage collector of a
// real controller-manager, the owned ConfigMaps and Services go with the
// JobManager Deployment, as with Flink's own client, and so does the Web
// UI Ingress: the track worker's cleanup deletes the Deployment (background
// propagation) and leaves the rest to the garbage collector.
func TestDeletingTheDeploymentRemovesTheRest(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{ControllerManager: true})
	cs := cp.Clientset()
	ctx := context.Background()
	ns := "gc"
	kubetest.CreateNamespace(t, cs, ns)
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "wordcount"}
		r.Kubernetes.TaskManagerPodTemplate = tmTemplate
	})
	objs := build(t, ev)
	if _, err := objs.AddIngress(&kubeclusters.Ingress{Host: "{cluster_id}.flink.example.com"}, ev.Job, "default"); err != nil {
		t.Fatal(err)
	}
	applied, err := Apply(ctx, cs, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 6 {
		t.Fatalf("applied %v, want a Deployment, 2 ConfigMaps, 2 Services and the Web UI Ingress", applied)
	}
	bg := metav1.DeletePropagationBackground
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "wordcount", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		for _, name := range []string{ConfigMapName("wordcount"), PodTemplateName("wordcount")} {
			if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = append(left, "ConfigMap/"+name)
			}
		}
		for _, name := range []string{kubeclusters.RestServiceName("wordcount"), "wordcount"} {
			if _, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = append(left, "Service/"+name)
			}
		}
		if _, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "wordcount", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, "Ingress/wordcount")
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not garbage collected after 30 s: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
