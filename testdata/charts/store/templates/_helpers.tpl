{{- /*
Selector labels as `helm create` makes them. A StatefulSet's selector cannot
change, so the pipeline's pod labels (app, version) go on the pod template
only, through .Values.podLabels.
*/ -}}
{{- define "store.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
