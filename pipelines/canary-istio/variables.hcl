variable "version" {
  type        = string
  description = "Version to release through the canary track, e.g. v2"
  validation {
    condition     = can(regex("^v[0-9][0-9a-z.-]*$", var.version))
    error_message = "version must look like v2 or v1.4.0: it becomes a label value and an image tag"
  }
}

variable "stable_version" {
  type        = string
  description = "Version the stable track runs now (on a fresh namespace the stable track is created with it; equal to version: nothing to canary, the stable track is just applied)"
  validation {
    condition     = can(regex("^v[0-9][0-9a-z.-]*$", var.stable_version))
    error_message = "stable_version must look like v1 or v1.3.0"
  }
}

variable "app" {
  type        = string
  default     = "demo"
  description = "Application name: the stable Deployment/Service/route, and the prefix of the canary ones (APP-canary)"
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
  default     = 3
  description = "Replicas of the stable track"
  validation {
    condition     = var.replicas >= 1
    error_message = "replicas must be at least 1"
  }
}

variable "canary_replicas" {
  type        = number
  default     = 1
  description = "Replicas of the canary track while it takes a share of the traffic"
  validation {
    condition     = var.canary_replicas >= 1
    error_message = "canary_replicas must be at least 1"
  }
}

variable "weights" {
  type        = list(number)
  default     = [10, 30, 60]
  description = "The steps of canary weight (percent of requests), in order, each followed by the canary gate"
  validation {
    condition     = length(var.weights) >= 1 && length(distinct(var.weights)) == length(var.weights) && length([for w in var.weights : w if w < 0 || w > 100 || floor(w) != w]) == 0
    error_message = "weights must be distinct whole percentages between 0 and 100, at least one, e.g. [10, 30, 60] or [5, 25, 50, 100]"
  }
}

variable "ab_header" {
  type        = string
  default     = ""
  description = "A/B stage before the weights: requests with this header (and ab_header_value) go to the canary only; empty skips the A/B stage"
}

variable "ab_header_value" {
  type        = string
  default     = "always"
  description = "Value of ab_header that selects the canary"
}

variable "canary_url" {
  type        = string
  default     = ""
  description = "Endpoint checked after every traffic step (the canary Service, or the public URL); empty skips the canary gates"
}

variable "host" {
  type        = string
  default     = "demo.example.com"
  description = "Host the VirtualService serves"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the canary pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed rollout)"
  validation {
    condition     = var.overlay == "" || length(var.pod_annotations) == 0
    error_message = "pod_annotations do not reach an overlay, whose pod template is its own: set them in the overlay (a patch, or commonAnnotations), or release without overlay"
  }
}

variable "progress_deadline" {
  type        = number
  default     = 120
  description = "progressDeadlineSeconds of the Deployments"
}

variable "analysis_interval" {
  type        = string
  default     = "10s"
  description = "Time between two measurements of a gate"
}

variable "analysis_count" {
  type        = number
  default     = 3
  description = "Measurements each gate takes; one failure fails it"
}

variable "gateway" {
  type        = string
  default     = "istio-system/ingressgateway"
  description = "Gateway the VirtualService is attached to when it is created"
}

variable "approval" {
  type        = bool
  default     = false
  description = "Wait for `cutover approve RUN` after the A/B stage and after each weight's gate (`cutover abort RUN` rolls back)"
}

variable "approval_timeout" {
  type        = string
  default     = "1h"
  description = "How long each approval waits for an answer before the release is aborted and rolled back"
}

variable "chart" {
  type        = string
  default     = ""
  description = "Helm chart to release as the canary instead of the pipeline's Deployment: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Released as APP-VERSION, which must name its Deployment and the Service the router sends the canary share to; podLabels (app, version) must reach its pod template. See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release as the canary instead of the pipeline's Deployment: a directory holding a kustomization.yaml whose Deployment, Service and container are named after app; the pipeline adds the suffix -VERSION and the labels app and version, and sets the image. Empty: the manifests; not with chart"
}
