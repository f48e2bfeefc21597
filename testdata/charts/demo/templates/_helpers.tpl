{{- /*
Selector labels as `helm create` makes them: one release's objects select
its own pods only, so two releases (blue/green colours, canary tracks) of
the chart live side by side. The ready pipelines add their own pod labels
(app, version, track) through .Values.podLabels.
*/ -}}
{{- define "demo.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
