variable "version" {
  type        = string
  description = "Version to release, e.g. v2: the image tag and the pods' version label"
  validation {
    condition     = can(regex("^v[0-9][0-9a-z.-]*$", var.version))
    error_message = "version must look like v2 or v1.4.0: it becomes a label value and an image tag"
  }
}

variable "app" {
  type        = string
  default     = "demo"
  description = "Application name: the Deployment, the Service and the app label"
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
  default     = null
  description = "Replicas of the Deployment; not given: 3 for the pipeline's manifests, the values' replicaCount for a chart"
  validation {
    condition     = coalesce(var.replicas, 1) >= 1
    error_message = "replicas must be at least 1"
  }
  validation {
    condition     = var.overlay == "" || var.replicas == null
    error_message = "replicas does not reach an overlay, whose replica count is its own: set it in the overlay (replicas:), or leave replicas out"
  }
}

variable "health_url" {
  type        = string
  default     = ""
  description = "Endpoint of the application checked after the rollout; empty skips that gate"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed rollout)"
  validation {
    condition     = var.overlay == "" || length(var.pod_annotations) == 0
    error_message = "pod_annotations do not reach an overlay, whose pod template is its own: set them in the overlay (a patch, or commonAnnotations), or release without overlay"
  }
}

variable "progress_deadline" {
  type        = number
  default     = null
  description = "progressDeadlineSeconds: how long the rollout may make no progress before it fails; 120 when not given. The pipeline's manifests only: a chart or overlay sets its own"
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

variable "chart" {
  type        = string
  default     = ""
  description = "Helm chart to release instead of the pipeline's manifests: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Its release is named after app; the pipeline's values follow chart_values: image.tag (version), image.repository and replicaCount only when image and replicas are given, podAnnotations, podLabels (version) and strategy, as `helm create` names them. Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release instead of the pipeline's manifests: a directory holding a kustomization.yaml. Its workload and that workload's container are named after app; the container's image tag is set to version (its repository to image only when given), everything else is the overlay's. Empty: the manifests; not with chart"
}
