package messages

import (
	"k8s.io/apimachinery/pkg/util/validation"
)

// maxClusterIDLength is Flink's limit for kubernetes.cluster-id: the
// JobManager Deployment and its Services are named after it, with suffixes.
const maxClusterIDLength = 45

// JobRef names a Flink cluster on Kubernetes. Its Key is the Kafka record
// key of every message about the job.
type JobRef struct {
	// KubeCluster is the name of a Kubernetes cluster configured in the
	// flinkferry workers (StreamPark supports only one). Empty means the
	// workers' default cluster. A DNS-1123 label when set.
	KubeCluster string `json:"kube_cluster,omitempty" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Namespace is the Kubernetes namespace of the cluster, Flink's
	// kubernetes.namespace (StreamPark "Kubernetes Namespace"). Required;
	// a DNS-1123 label.
	Namespace string `json:"namespace" jsonschema:"minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// ClusterID is Flink's kubernetes.cluster-id (StreamPark "Kubernetes
	// ClusterId"): the name of the JobManager Deployment. Required; a
	// DNS-1035 label of at most 45 characters. In mode session it names the
	// job itself (unique in the namespace) and SubmitRequested's
	// session_cluster_id names the cluster that runs it.
	ClusterID string `json:"cluster_id" jsonschema:"minLength=1,maxLength=45,pattern=^[a-z]([-a-z0-9]*[a-z0-9])?$"`
}

// Key returns "<kube_cluster>/<namespace>/<cluster_id>", the Kafka record
// key. An empty KubeCluster stays empty ("/flink-jobs/wordcount"), so the
// key does not change when the default cluster is renamed.
func (j JobRef) Key() string {
	return j.KubeCluster + "/" + j.Namespace + "/" + j.ClusterID
}

// IsZero reports whether no field is set.
func (j JobRef) IsZero() bool { return j == JobRef{} }

// validate checks the reference at path p.
func (j JobRef) validate(v *validator, p string) {
	if j.KubeCluster != "" {
		v.addAll(at(p, "kube_cluster"), validation.IsDNS1123Label(j.KubeCluster))
	}
	if j.Namespace == "" {
		v.addf(at(p, "namespace"), "required")
	} else {
		v.addAll(at(p, "namespace"), validation.IsDNS1123Label(j.Namespace))
	}
	checkClusterID(v, at(p, "cluster_id"), j.ClusterID, true)
}

// checkClusterID checks a Flink kubernetes.cluster-id.
func checkClusterID(v *validator, p, id string, required bool) {
	if id == "" {
		if required {
			v.addf(p, "required")
		}
		return
	}
	if len(id) > maxClusterIDLength {
		v.addf(p, "must be at most %d characters (Flink's limit for kubernetes.cluster-id), got %d", maxClusterIDLength, len(id))
	}
	for _, msg := range validation.IsDNS1035Label(id) {
		if msg != validation.MaxLenError(validation.DNS1035LabelMaxLength) {
			v.addf(p, "%s", msg)
		}
	}
}
