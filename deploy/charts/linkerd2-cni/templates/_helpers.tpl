{{/* "11,22" -> "11","22" (linkerd2's partials.splitStringList). */}}
{{- define "cni.splitStringList" -}}
{{- if gt (len (toString .)) 0 -}}
{{- $ports := toString . | splitList "," -}}
{{- $last := sub (len $ports) 1 -}}
{{- range $i,$port := $ports -}}
"{{$port}}"{{ternary "," "" (ne $i $last)}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cni.created-by" -}}
linkerd.io/created-by: {{ .Values.cliVersion | default (printf "proxy-init/helm %s" ((.Values.image).version | default .Chart.AppVersion)) }}
{{- end -}}

{{- define "cni.labels" -}}
linkerd.io/cni-resource: "true"
{{- with .Values.commonLabels }}
{{ toYaml . | trim }}
{{- end }}
{{- end -}}

{{/* Resources as linkerd2's partials.resources: empty values are left out. */}}
{{- define "cni.resources" -}}
{{- $eph := index . "ephemeral-storage" -}}
resources:
  {{- if or (.cpu).limit (.memory).limit ($eph).limit }}
  limits:
    {{- with (.cpu).limit }}
    cpu: {{ . | quote }}
    {{- end }}
    {{- with (.memory).limit }}
    memory: {{ . | quote }}
    {{- end }}
    {{- with ($eph).limit }}
    ephemeral-storage: {{ . | quote }}
    {{- end }}
  {{- end }}
  {{- if or (.cpu).request (.memory).request ($eph).request }}
  requests:
    {{- with (.cpu).request }}
    cpu: {{ . | quote }}
    {{- end }}
    {{- with (.memory).request }}
    memory: {{ . | quote }}
    {{- end }}
    {{- with ($eph).request }}
    ephemeral-storage: {{ . | quote }}
    {{- end }}
  {{- end }}
{{- end -}}
