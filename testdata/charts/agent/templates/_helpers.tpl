{{- /*
Selector labels as `helm create` makes them. A DaemonSet's selector cannot
change, so the pipeline's pod labels (app, version) go on the pod template
only, through .Values.podLabels.
*/ -}}
{{- define "agent.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
