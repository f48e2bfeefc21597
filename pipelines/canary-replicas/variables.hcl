variable "version" {
  type        = string
  description = "Version to release, e.g. v2; it names the Deployment APP-VERSION and its pods' version label"
  validation {
    condition     = can(regex("^v[0-9][0-9a-z.-]*$", var.version))
    error_message = "version must look like v2 or v1.4.0: it becomes part of a Deployment name and a label value"
  }
}

variable "app" {
  type        = string
  default     = "demo"
  description = "Application name: the Service, the app label and the Deployment prefix"
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]*[a-z0-9])?$", var.app))
    error_message = "app must be a DNS label (lower case letters, digits and dashes)"
  }
}

variable "namespace" {
  type        = string
  default     = ""
  description = "Namespace of the release; empty means the kubeconfig context's (or --namespace)"
}

variable "image" {
  type        = string
  default     = null
  description = "Image repository; the tag is the version. Not given: bebullish/demo for the pipeline's manifests, while a chart keeps its values' image.repository and an overlay its image"
}

variable "replicas" {
  type        = number
  default     = 10
  description = "Replicas of the new version once the canary passed (the old version's count, usually)"
  validation {
    condition     = var.replicas >= 1
    error_message = "replicas must be at least 1"
  }
}

variable "initial" {
  type        = bool
  default     = false
  description = "First release: also create the Service (there is no old version to delete)"
}

variable "health_url" {
  type        = string
  default     = ""
  description = "Health endpoint of the canary pods (a preview Service, a port-forward); empty skips that gate"
}

variable "smoke_url" {
  type        = string
  default     = ""
  description = "Endpoint reached through the Service once the new version has all its replicas; empty skips that gate"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the new pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed rollout)"
  validation {
    condition     = var.overlay == "" || length(var.pod_annotations) == 0
    error_message = "pod_annotations do not reach an overlay, whose pod template is its own: set them in the overlay (a patch, or commonAnnotations), or release without overlay"
  }
}

variable "progress_deadline" {
  type        = number
  default     = null
  description = "progressDeadlineSeconds of the Deployments: how long a rollout may make no progress before it fails; 120 when not given. The pipeline's manifests only: a chart or overlay sets its own"
  validation {
    condition     = (var.chart == "" && var.overlay == "") || var.progress_deadline == null
    error_message = "progress_deadline reaches only the pipeline's manifests: set progressDeadlineSeconds in the chart's values (chart_values) or in the overlay, or leave progress_deadline out"
  }
}

variable "analysis_interval" {
  type        = string
  default     = "5s"
  description = "Time between two measurements of a gate"
}

variable "analysis_count" {
  type        = number
  default     = 3
  description = "Measurements a gate takes; one failure fails it"
}

variable "canary_replicas" {
  type        = number
  default     = 1
  description = "Replicas of the new version during the canary, next to the old version's"
  validation {
    condition     = var.canary_replicas >= 1
    error_message = "canary_replicas must be at least 1"
  }
}

variable "previous_version" {
  type        = string
  default     = ""
  description = "Version running now; its Deployment APP-VERSION is deleted once the new one has all its replicas. Empty on the first release"
  validation {
    condition     = var.previous_version == "" || can(regex("^v[0-9][0-9a-z.-]*$", var.previous_version))
    error_message = "previous_version must be empty or look like v1"
  }
}

variable "approval" {
  type        = bool
  default     = false
  description = "Pause once the canary serves next to the old pods and wait for `cutover approve RUN` (or `cutover abort RUN`, which rolls back) before scaling it up"
}

variable "approval_timeout" {
  type        = string
  default     = "1h"
  description = "How long the canary waits for an answer before it is aborted and rolled back"
}

variable "chart" {
  type        = string
  default     = ""
  description = "Helm chart to release as the canary instead of the pipeline's Deployment: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Released as APP-VERSION, which must name its Deployment; podLabels (app, version) must reach its pod template, so the shared Service selects its pods. See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release as the canary instead of the pipeline's Deployment: a directory holding a kustomization.yaml whose Deployment and container are named after app; the pipeline adds the suffix -VERSION and the labels app and version, and sets the image. Empty: the manifests; not with chart"
}
