{{/*
Shared helpers. Every subchart of workflow-gateway carries the same
templates (deploy/manifests fails when they drift): duplicated rather than a
library chart, so each chart installs alone with no `helm dependency build`.
*/}}

{{/* The service name: the chart name unless overridden. Not prefixed with
the release name, so that layers installed by separate releases find each
other at http://<service>:<port> in one namespace. */}}
{{- define "svc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "svc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "svc.name" . -}}
{{- end -}}
{{- end -}}

{{- define "svc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "svc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "svc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "svc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: workflow-gateway
{{- with .Values.component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "svc.global" -}}
{{- toYaml (.Values.global | default dict) -}}
{{- end -}}

{{/* image: global.image.registry replaces the repository's registry part,
the tag falls back to global.image.tag, then to the chart's appVersion. */}}
{{- define "svc.image" -}}
{{- $g := fromYaml (include "svc.global" .) -}}
{{- $gi := $g.image | default dict -}}
{{- $repo := .Values.image.repository -}}
{{- with $gi.registry -}}{{- $repo = printf "%s/%s" (trimSuffix "/" .) (include "svc.name" $) -}}{{- end -}}
{{- $tag := .Values.image.tag | default $gi.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* The existing Secret holding DATABASE_URL, JWT_SECRET_KEY …: this chart never creates it. */}}
{{- define "svc.secretName" -}}
{{- $g := fromYaml (include "svc.global" .) -}}
{{- .Values.existingSecret | default $g.existingSecret | default "workflow-gateway" -}}
{{- end -}}

{{/* Plain settings: commonEnv < global.env < env. */}}
{{- define "svc.env" -}}
{{- $g := fromYaml (include "svc.global" .) -}}
{{- $env := merge (deepCopy (.Values.env | default dict)) (deepCopy ($g.env | default dict)) (deepCopy (.Values.commonEnv | default dict)) -}}
{{- toYaml $env -}}
{{- end -}}

{{- define "svc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "svc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Secret-backed variables of a container. */}}
{{- define "svc.secretEnv" -}}
{{- range $name, $key := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "svc.secretName" $ }}
      key: {{ $key }}
{{- end }}
{{- range $name, $key := .Values.optionalSecretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "svc.secretName" $ }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end -}}

{{/* A NetworkPolicy rule's ports. */}}
{{- define "svc.netpolPorts" -}}
{{- range . }}
- port: {{ int . }}
  protocol: TCP
{{- end }}
{{- end -}}
