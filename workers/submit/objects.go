package submit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// Labels and names of Flink's native Kubernetes integration.
const (
	LabelType         = "type"
	LabelTypeValue    = "flink-native-kubernetes"
	LabelApp          = "app"
	LabelComponent    = "component"
	ComponentJM       = "jobmanager"
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	ManagedByValue    = "flinkferry"
	AnnotationRequest = "flinkferry.io/request-id"
	// AnnotationMode and AnnotationFlinkJobID let the track worker rebuild
	// its tracked set from the Deployments alone (after a Redis flush).
	AnnotationMode       = "flinkferry.io/mode"
	AnnotationFlinkJobID = "flinkferry.io/flink-job-id"
	// AnnotationKubeCluster is the request's job.kube_cluster, when set, so
	// the job key rebuilt from the Deployment is the one of its messages.
	AnnotationKubeCluster = "flinkferry.io/kube-cluster"
	confVolume            = "flink-config-volume"
	confDir               = "/opt/flink/conf"
	podTemplateVolume     = "pod-template-volume"
	podTemplateDir        = "/opt/flink/pod-template"
	podTemplateKey        = "taskmanager-pod-template.yaml"
	log4jKey              = "log4j-console.properties"
)

// Objects are the Kubernetes objects of one Flink cluster, exactly those
// Flink's native client (KubernetesClusterDescriptor) creates. Everything
// but the Deployment gets an ownerReference to it once the Deployment
// exists (its uid is needed), see Owned.
type Objects struct {
	Deployment *appsv1ac.DeploymentApplyConfiguration
	ConfigMaps []*corev1ac.ConfigMapApplyConfiguration
	Services   []*corev1ac.ServiceApplyConfiguration
	// Ingress is the optional Web UI Ingress (AddIngress).
	Ingress *networkingv1ac.IngressApplyConfiguration
}

// ConfigMapName and the other name helpers follow Flink's naming (the REST
// Service's is kubeclusters.RestServiceName).
func ConfigMapName(clusterID string) string   { return "flink-config-" + clusterID }
func PodTemplateName(clusterID string) string { return "pod-template-" + clusterID }

// jobManagerLabels are the Deployment's selector: Flink's three labels.
func jobManagerLabels(clusterID string) map[string]string {
	return map[string]string{LabelType: LabelTypeValue, LabelApp: clusterID, LabelComponent: ComponentJM}
}

// BuildObjects returns the objects of the cluster described by ev, with
// configuration conf (EffectiveConf). The TaskManager pod template, if
// any, is stored in its ConfigMap as given (the JobManager merges it).
func BuildObjects(ev *messages.ImageBuilt, conf FlinkConf) (*Objects, error) {
	id, ns := ev.Job.ClusterID, ev.Job.Namespace
	file, content, err := conf.ConfigFile(ev.Request.Flink.Version)
	if err != nil {
		return nil, err
	}
	resources, err := jobManagerResources(conf)
	if err != nil {
		return nil, err
	}
	tmTemplate := ev.Request.Kubernetes.TaskManagerPodTemplate
	if tmTemplate == "" {
		tmTemplate = ev.Request.Kubernetes.PodTemplate
	}

	common := map[string]string{LabelType: LabelTypeValue, LabelApp: id, LabelManagedBy: ManagedByValue}
	for k, v := range ev.Request.Labels {
		common[k] = v
	}
	jmLabels := jobManagerLabels(id)
	for k, v := range common {
		jmLabels[k] = v
	}

	mode := "kubernetes-application"
	if ev.Mode == messages.ModeSessionCluster {
		mode = "kubernetes-session"
	}
	container := corev1ac.Container().
		WithName(admission.MainContainer).
		WithImage(ev.Image).
		WithImagePullPolicy(corev1.PullPolicy(conf["kubernetes.container.image.pull-policy"])).
		WithCommand("/docker-entrypoint.sh").
		WithArgs("bash", "-c", "kubernetes-jobmanager.sh "+mode).
		WithPorts(
			corev1ac.ContainerPort().WithName("rest").WithContainerPort(kubeclusters.RestPort).WithProtocol(corev1.ProtocolTCP),
			corev1ac.ContainerPort().WithName("jobmanager-rpc").WithContainerPort(RPCPort).WithProtocol(corev1.ProtocolTCP),
			corev1ac.ContainerPort().WithName("blobserver").WithContainerPort(BlobPort).WithProtocol(corev1.ProtocolTCP),
		).
		WithResources(resources).
		WithEnv(corev1ac.EnvVar().WithName("_POD_IP_ADDRESS").WithValueFrom(
			corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("status.podIP")))).
		WithVolumeMounts(corev1ac.VolumeMount().WithName(confVolume).WithMountPath(confDir))

	volumes := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName(confVolume).WithConfigMap(corev1ac.ConfigMapVolumeSource().
			WithName(ConfigMapName(id)).
			WithItems(
				corev1ac.KeyToPath().WithKey(log4jKey).WithPath(log4jKey),
				corev1ac.KeyToPath().WithKey(file).WithPath(file),
			)),
	}
	if tmTemplate != "" {
		container.WithVolumeMounts(corev1ac.VolumeMount().WithName(podTemplateVolume).WithMountPath(podTemplateDir))
		volumes = append(volumes, corev1ac.Volume().WithName(podTemplateVolume).WithConfigMap(
			corev1ac.ConfigMapVolumeSource().WithName(PodTemplateName(id)).
				WithItems(corev1ac.KeyToPath().WithKey(podTemplateKey).WithPath(podTemplateKey))))
	}
	sa := conf["kubernetes.jobmanager.service-account"]
	if sa == "" {
		sa = conf["kubernetes.service-account"]
	}
	if sa == "" {
		sa = "default"
	}
	replicas := int32(1)
	if conf.HighAvailability() {
		if n, err := strconv.Atoi(conf["kubernetes.jobmanager.replicas"]); err == nil && n > 0 {
			replicas = int32(n)
		}
	}

	podTemplate := corev1ac.PodTemplateSpec().
		WithLabels(jmLabels).
		WithSpec(corev1ac.PodSpec().
			WithServiceAccountName(sa).
			WithContainers(container).
			WithVolumes(volumes...))
	if field, text := jobManagerTemplate(ev.Request.Kubernetes); text != "" {
		tmpl, err := parsePodTemplate(field, text)
		if err != nil {
			return nil, err
		}
		if podTemplate, err = withTemplate(tmpl, podTemplate); err != nil {
			return nil, err
		}
	}

	objs := &Objects{}
	objs.Deployment = appsv1ac.Deployment(id, ns).
		WithLabels(jmLabels).
		WithAnnotations(deploymentAnnotations(ev)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(jobManagerLabels(id))).
			WithTemplate(podTemplate))

	cm := corev1ac.ConfigMap(ConfigMapName(id), ns).
		WithLabels(common).
		WithData(map[string]string{file: content, log4jKey: log4jConsole})
	objs.ConfigMaps = append(objs.ConfigMaps, cm)
	if tmTemplate != "" {
		objs.ConfigMaps = append(objs.ConfigMaps, corev1ac.ConfigMap(PodTemplateName(id), ns).
			WithLabels(common).
			WithData(map[string]string{podTemplateKey: tmTemplate}))
	}

	rest := corev1ac.Service(kubeclusters.RestServiceName(id), ns).WithLabels(common)
	spec := corev1ac.ServiceSpec().
		WithSelector(jobManagerLabels(id)).
		WithPorts(corev1ac.ServicePort().WithName("rest").WithPort(kubeclusters.RestPort).WithTargetPort(intstr.FromInt32(kubeclusters.RestPort)).WithProtocol(corev1.ProtocolTCP))
	switch t := messages.RestExposedType(conf["kubernetes.rest-service.exposed.type"]); t {
	case messages.RestHeadlessClusterIP:
		spec.WithType(corev1.ServiceTypeClusterIP).WithClusterIP(corev1.ClusterIPNone)
	case messages.RestClusterIP, messages.RestNodePort, messages.RestLoadBalancer:
		spec.WithType(corev1.ServiceType(t))
	default:
		return nil, fmt.Errorf("unknown kubernetes.rest-service.exposed.type %q", t)
	}
	objs.Services = append(objs.Services, rest.WithSpec(spec))
	if !conf.HighAvailability() {
		objs.Services = append(objs.Services, corev1ac.Service(id, ns).WithLabels(common).WithSpec(
			corev1ac.ServiceSpec().
				WithClusterIP(corev1.ClusterIPNone).
				WithSelector(jobManagerLabels(id)).
				WithPorts(
					corev1ac.ServicePort().WithName("jobmanager-rpc").WithPort(RPCPort).WithTargetPort(intstr.FromInt32(RPCPort)).WithProtocol(corev1.ProtocolTCP),
					corev1ac.ServicePort().WithName("blobserver").WithPort(BlobPort).WithTargetPort(intstr.FromInt32(BlobPort)).WithProtocol(corev1.ProtocolTCP),
				)))
	}
	return objs, nil
}

// deploymentAnnotations say which request and job the Deployment runs.
func deploymentAnnotations(ev *messages.ImageBuilt) map[string]string {
	a := map[string]string{AnnotationRequest: ev.RequestID, AnnotationMode: string(ev.Mode), AnnotationRequestHash: RequestHash(&ev.Request)}
	if id := ev.Request.FlinkJobID(); id != "" && ev.Mode == messages.ModeApplication {
		a[AnnotationFlinkJobID] = id
	}
	if ev.Job.KubeCluster != "" {
		a[AnnotationKubeCluster] = ev.Job.KubeCluster
	}
	if ev.UpgradeOf != "" {
		a[AnnotationUpgradeOf] = ev.UpgradeOf
		if p := ev.Request.Program; p != nil && p.Savepoint != nil && p.Savepoint.Path != "" {
			a[AnnotationRestoredFrom] = p.Savepoint.Path
		}
	}
	return a
}

// Owned adds the ownerReference to the Deployment (name and uid) to every
// other object, as Flink does, so deleting the Deployment removes them.
func (o *Objects) Owned(deploymentUID string) {
	ref := metav1ac.OwnerReference().
		WithAPIVersion("apps/v1").WithKind("Deployment").
		WithName(*o.Deployment.Name).WithUID(typesUID(deploymentUID)).
		WithController(true).WithBlockOwnerDeletion(true)
	for _, cm := range o.ConfigMaps {
		cm.OwnerReferences = nil
		cm.WithOwnerReferences(ref)
	}
	for _, s := range o.Services {
		s.OwnerReferences = nil
		s.WithOwnerReferences(ref)
	}
	if o.Ingress != nil {
		o.Ingress.OwnerReferences = nil
		o.Ingress.WithOwnerReferences(ref)
	}
}

// jobManagerResources maps jobmanager.memory.process.size and
// kubernetes.jobmanager.cpu.amount to requests = limits, as Flink does.
func jobManagerResources(conf FlinkConf) (*corev1ac.ResourceRequirementsApplyConfiguration, error) {
	mem, err := flinkMemory(conf["jobmanager.memory.process.size"])
	if err != nil {
		return nil, fmt.Errorf("jobmanager.memory.process.size: %w", err)
	}
	cpu := conf["kubernetes.jobmanager.cpu.amount"]
	if cpu == "" {
		cpu = "1.0"
	}
	c, err := resource.ParseQuantity(strings.TrimSuffix(cpu, ".0"))
	if err != nil {
		return nil, fmt.Errorf("kubernetes.jobmanager.cpu.amount: %w", err)
	}
	list := corev1.ResourceList{corev1.ResourceMemory: mem, corev1.ResourceCPU: c}
	return corev1ac.ResourceRequirements().WithRequests(list).WithLimits(list), nil
}

// flinkMemory parses Flink's memory syntax (1600m, 2g, 1024 mb, 134217728b)
// into a Kubernetes quantity in Mi (as Flink writes it).
func flinkMemory(s string) (resource.Quantity, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], s[i:]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("%q is not a Flink memory size", s)
	}
	var bytes int64
	switch unit {
	case "", "b", "bytes":
		bytes = n
	case "k", "kb", "kibibytes":
		bytes = n << 10
	case "m", "mb", "mebibytes":
		bytes = n << 20
	case "g", "gb", "gibibytes":
		bytes = n << 30
	case "t", "tb", "tebibytes":
		bytes = n << 40
	default:
		return resource.Quantity{}, fmt.Errorf("%q has an unknown unit %q", s, unit)
	}
	return resource.MustParse(strconv.FormatInt(bytes>>20, 10) + "Mi"), nil
}

func typesUID(s string) apitypes.UID { return apitypes.UID(s) }

// withTemplate merges the generated pod into the user's template
// (mergePodTemplate), converting through the typed API objects.
func withTemplate(tmpl *corev1.Pod, gen *corev1ac.PodTemplateSpecApplyConfiguration) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	var typed corev1.PodTemplateSpec
	if err := convert(gen, &typed); err != nil {
		return nil, err
	}
	merged := mergePodTemplate(tmpl, typed)
	out := &corev1ac.PodTemplateSpecApplyConfiguration{}
	if err := convert(merged, out); err != nil {
		return nil, err
	}
	return out, nil
}

// convert copies between an object and its apply configuration (they share
// the JSON form).
func convert(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return fmt.Errorf("converting pod template: %w", err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		return fmt.Errorf("converting pod template: %w", err)
	}
	return nil
}
