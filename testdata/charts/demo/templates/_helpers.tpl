{{- define "demo.selector" -}}
app: {{ .Release.Name }}
{{- end }}
