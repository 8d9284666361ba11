{{- define "nodecast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nodecast.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nodecast.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Selector labels: immutable on a DaemonSet, so name and instance only. */}}
{{- define "nodecast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nodecast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nodecast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "nodecast.selectorLabels" . }}
app.kubernetes.io/version: {{ include "nodecast.version" . | quote }}
app.kubernetes.io/component: metrics
app.kubernetes.io/part-of: nodecast
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if .Values.releaseLabel }}
release: {{ .Release.Name }}
{{- end }}
{{- with .Values.commonLabels }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end }}

{{- define "nodecast.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nodecast.image" -}}
{{- $repo := .repository }}
{{- if .registry }}{{ $repo = printf "%s/%s" .registry .repository }}{{ end }}
{{- if .digest }}{{ printf "%s@%s" $repo .digest }}{{ else }}{{ printf "%s:%s" $repo (toString .tag) }}{{ end }}
{{- end }}

{{- define "nodecast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nodecast.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding web-config.yml, empty when none. */}}
{{- define "nodecast.webConfigSecret" -}}
{{- if .Values.webConfig.existingSecret }}
{{- .Values.webConfig.existingSecret }}
{{- else if .Values.webConfig.config }}
{{- printf "%s-web-config" (include "nodecast.fullname" .) }}
{{- end }}
{{- end }}

{{- define "nodecast.probeScheme" -}}
{{- if or .Values.webConfig.tls (hasKey (default dict .Values.webConfig.config) "tls_server_config") }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
