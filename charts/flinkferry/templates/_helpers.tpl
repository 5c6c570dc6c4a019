{{- define "flinkferry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flinkferry.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "flinkferry.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Topics each worker consumes in its group (run.go of each worker). */}}
{{- define "flinkferry.consumedTopics" -}}
{{- $t := dict "build" (list "submit") "submit" (list "image-built") "track" (list "deployed" "control") "alert" (list "status") -}}
{{- toJson (get $t .) -}}
{{- end -}}

{{/* The consumer group of worker .name: FLINKFERRY_KAFKA_CONSUMER_GROUP from
the worker's env or the shared env, else flinkferry-<name> (internal/bus). */}}
{{- define "flinkferry.consumerGroup" -}}
{{- $w := get .root.Values.workers .name -}}
{{- $w.env.FLINKFERRY_KAFKA_CONSUMER_GROUP | default .root.Values.env.FLINKFERRY_KAFKA_CONSUMER_GROUP | default (printf "flinkferry-%s" .name) -}}
{{- end -}}

{{/* Selector labels of worker .name's pods. */}}
{{- define "flinkferry.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The autoscaler of worker .name as JSON: {"kind": "keda"|"hpa"|"", min,
max, and the merged settings}; fails when both are on or the maximum is
above the topics' partitions. */}}
{{- define "flinkferry.autoscaler" -}}
{{- $root := .root -}}
{{- $w := get $root.Values.workers .name -}}
{{- $keda := mergeOverwrite (deepCopy $root.Values.autoscaling.keda) ($w.keda | default dict) -}}
{{- $hpa := mergeOverwrite (deepCopy $root.Values.autoscaling.hpa) ($w.hpa | default dict) -}}
{{- $parts := int $root.Values.kafka.partitions -}}
{{- if and $keda.enabled $hpa.enabled -}}
{{- fail (printf "workers.%s: keda.enabled and hpa.enabled are exclusive (KEDA makes its own HPA); enable one" .name) -}}
{{- end -}}
{{- if $keda.enabled -}}
{{- if and $root.Values.kafka.sasl.mechanism (not $root.Values.kafka.sasl.existingSecret) -}}
{{- fail (printf "workers.%s.keda: KEDA reads the lag with SASL %s and needs its credentials: set kafka.sasl.existingSecret" .name $root.Values.kafka.sasl.mechanism) -}}
{{- end -}}
{{- $max := int $keda.maxReplicaCount | default $parts -}}
{{- if gt $max $parts -}}
{{- fail (printf "workers.%s.keda.maxReplicaCount %d is above kafka.partitions %d: a consumer group uses at most one pod per partition" .name $max $parts) -}}
{{- end -}}
{{- if gt (int $keda.minReplicaCount) $max -}}
{{- fail (printf "workers.%s.keda.minReplicaCount %d is above its maximum %d" .name (int $keda.minReplicaCount) $max) -}}
{{- end -}}
{{- toJson (dict "kind" "keda" "min" (int $keda.minReplicaCount) "max" $max "s" $keda) -}}
{{- else if $hpa.enabled -}}
{{- $max := int $hpa.maxReplicas | default $parts -}}
{{- if gt $max $parts -}}
{{- fail (printf "workers.%s.hpa.maxReplicas %d is above kafka.partitions %d: a consumer group uses at most one pod per partition" .name $max $parts) -}}
{{- end -}}
{{- if gt (int $hpa.minReplicas) $max -}}
{{- fail (printf "workers.%s.hpa.minReplicas %d is above its maximum %d" .name (int $hpa.minReplicas) $max) -}}
{{- end -}}
{{- toJson (dict "kind" "hpa" "min" (int $hpa.minReplicas) "max" $max "s" $hpa) -}}
{{- else -}}
{{- toJson (dict "kind" "" "min" (int $w.replicas) "max" (int $w.replicas)) -}}
{{- end -}}
{{- end -}}

{{/* Service accounts Flink pods may run as: jobServiceAccounts and the
chart's JobManager account, comma-separated. */}}
{{- define "flinkferry.jobServiceAccounts" -}}
{{- $sas := .Values.jobServiceAccounts -}}
{{- if .Values.jobManager.serviceAccount.create -}}
{{- $sas = append $sas .Values.jobManager.serviceAccount.name | uniq -}}
{{- end -}}
{{- join "," $sas -}}
{{- end -}}

{{/* The env entries reading each credential from its existing Secret, for
worker .name. */}}
{{- define "flinkferry.secretEnv" -}}
{{- $v := .root.Values -}}
{{- $ref := dict -}}
{{- with $v.kafka.sasl.existingSecret }}
{{- $_ := set $ref "FLINKFERRY_KAFKA_SASL_USERNAME" (list . $v.kafka.sasl.usernameKey) }}
{{- $_ := set $ref "FLINKFERRY_KAFKA_SASL_PASSWORD" (list . $v.kafka.sasl.passwordKey) }}
{{- end }}
{{- if and $v.redis.existingSecret (has .name (list "track" "alert")) }}
{{- $_ := set $ref "FLINKFERRY_REDIS_PASSWORD" (list $v.redis.existingSecret $v.redis.passwordKey) }}
{{- if and $v.redis.sentinel.master $v.redis.sentinel.passwordKey }}
{{- $_ := set $ref "FLINKFERRY_REDIS_SENTINEL_PASSWORD" (list $v.redis.existingSecret $v.redis.sentinel.passwordKey) }}
{{- end }}
{{- end }}
{{- with $v.registryCredentials.existingSecret }}
{{- $up := upper $.name }}
{{- if has $.name (list "build" "submit") }}
{{- $_ := set $ref (printf "FLINKFERRY_%s_REGISTRY_USERNAME" $up) (list . $v.registryCredentials.usernameKey) }}
{{- $_ := set $ref (printf "FLINKFERRY_%s_REGISTRY_PASSWORD" $up) (list . $v.registryCredentials.passwordKey) }}
{{- end }}
{{- end }}
{{- range $k := keys $ref | sortAlpha }}
{{- $r := get $ref $k }}
- name: {{ $k }}
  valueFrom:
    secretKeyRef:
      name: {{ index $r 0 }}
      key: {{ index $r 1 }}
{{- end }}
{{- end -}}

{{/*
The submit worker's FLINKFERRY_SUBMIT_FLINK_CONF: its own env, the common
env, or the chart's JobManager account; empty when none.
*/}}
{{- define "flinkferry.submitFlinkConf" -}}
{{- $w := .Values.workers.submit | default dict -}}
{{- $env := $w.env | default dict -}}
{{- if $env.FLINKFERRY_SUBMIT_FLINK_CONF -}}
{{- $env.FLINKFERRY_SUBMIT_FLINK_CONF -}}
{{- else if .Values.env.FLINKFERRY_SUBMIT_FLINK_CONF -}}
{{- .Values.env.FLINKFERRY_SUBMIT_FLINK_CONF -}}
{{- else if .Values.jobManager.serviceAccount.create -}}
{{- printf "kubernetes.service-account=%s" .Values.jobManager.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{/*
"true" when the submit worker creates Web UI Ingresses in this cluster
(ingress.enabled, or a kubeClusters entry without existingSecret, i.e.
this cluster, with an ingress); empty otherwise.
*/}}
{{- define "flinkferry.ingresses" -}}
{{- $on := .Values.ingress.enabled -}}
{{- range .Values.kubeClusters -}}
{{- if and .ingress (not .existingSecret) -}}{{- $on = true -}}{{- end -}}
{{- end -}}
{{- if $on -}}true{{- end -}}
{{- end }}
