package submit

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/messages"
)

// The upgrade mark: a ConfigMap <cluster-id>-flinkferry-upgrade the submit
// worker writes when it hands a request over to the track worker as an
// upgrade, before anything else (docs/upgrades.md). The track worker
// removes the old cluster (everything labelled app=<id>,
// type=flink-native-kubernetes; the mark has no type label and is kept),
// then hands the request back. Between the two the job has no Deployment:
// a redelivery of the request as it was sent (its submit worker killed
// before it committed the hand-over) would otherwise be applied as a new
// job, without the restore point, and the hand-back refused as a
// conflict. The mark makes it an upgrade handed over again (the track
// worker ignores a duplicate). Once the hand-back is applied the mark says
// so and is owned by the new Deployment (deleted with it).

// Upgrade mark states.
const (
	markUpgrading = "upgrading"
	markDeployed  = "deployed"
)

// upgradeMarkName is the name of cluster id's upgrade mark.
func upgradeMarkName(clusterID string) string { return clusterID + "-flinkferry-upgrade" }

// markUpgrade records that ev's request is handed over as an upgrade of
// run running.
func markUpgrade(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt, running string) error {
	cm := upgradeMark(ev, running, markUpgrading)
	if _, err := cs.CoreV1().ConfigMaps(ev.Job.Namespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("applying ConfigMap %s/%s: %w", ev.Job.Namespace, *cm.Name, err)
	}
	return nil
}

// markUpgradeDeployed records that the upgrade's new run, ev, is applied,
// its Deployment deploymentUID owning the mark from now on.
func markUpgradeDeployed(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt, deploymentUID string) error {
	cm := upgradeMark(ev, ev.UpgradeOf, markDeployed)
	if deploymentUID != "" {
		cm.WithOwnerReferences(metav1ac.OwnerReference().WithAPIVersion("apps/v1").WithKind("Deployment").
			WithName(ev.Job.ClusterID).WithUID(types.UID(deploymentUID)))
	}
	if _, err := cs.CoreV1().ConfigMaps(ev.Job.Namespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("applying ConfigMap %s/%s: %w", ev.Job.Namespace, *cm.Name, err)
	}
	return nil
}

func upgradeMark(ev *messages.ImageBuilt, running, state string) *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(upgradeMarkName(ev.Job.ClusterID), ev.Job.Namespace).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": "flinkferry", "flinkferry.io/upgrade-of": ev.Job.ClusterID}).
		WithData(map[string]string{"request_id": ev.RequestID, "upgrade_of": running, "state": state})
}

// upgradeInFlight returns the run ev's request is handed over to replace
// when the job's mark says so ("" otherwise): its old cluster may be gone
// already, the track worker's hand-back not applied yet.
func upgradeInFlight(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt) (string, error) {
	cm, err := cs.CoreV1().ConfigMaps(ev.Job.Namespace).Get(ctx, upgradeMarkName(ev.Job.ClusterID), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", classify(fmt.Errorf("reading ConfigMap %s/%s: %w", ev.Job.Namespace, upgradeMarkName(ev.Job.ClusterID), err))
	}
	if cm.Data["request_id"] != ev.RequestID || cm.Data["state"] != markUpgrading {
		return "", nil
	}
	return cm.Data["upgrade_of"], nil
}
