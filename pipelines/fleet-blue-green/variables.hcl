variable "version" {
  type        = string
  description = "Version to release (the green colour), e.g. v2; it names the Deployment APP-VERSION and its pods' version label"
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
  default     = null
  description = "Replicas of each colour; not given: 3 for the pipeline's manifests, the values' replicaCount for a chart"
  validation {
    condition     = coalesce(var.replicas, 1) >= 1
    error_message = "replicas must be at least 1"
  }
  validation {
    condition     = var.overlay == "" || var.replicas == null
    error_message = "replicas does not reach an overlay, whose replica count is its own: set it in the overlay (replicas:), or leave replicas out"
  }
}

variable "initial" {
  type        = bool
  default     = false
  description = "First release: also create the Service, pointing at this version (there is no blue to switch from)"
}

variable "health_url" {
  type        = string
  default     = ""
  description = "Health endpoint of the green pods before the switch (a preview Service, a port-forward); empty skips that gate"
}

variable "smoke_url" {
  type        = string
  default     = ""
  description = "Endpoint reached through the live Service after the switch, on every target; empty skips that gate"
}

variable "smoke_urls" {
  type        = map(string)
  default     = {}
  description = "Per target, the endpoint of the live check after the switch, by target name (each cluster has its own ingress); a target not named uses smoke_url"
}

variable "contexts" {
  type        = map(string)
  default     = { canary = "canary", eu = "eu", us = "us" }
  description = "The kubeconfig context of each target: canary, eu and us"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the green pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed rollout)"
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

variable "max_failures" {
  type        = number
  default     = 0
  description = "How many clusters of the second wave may fail (each undone on its own) without failing the release"
}

variable "chart" {
  type        = string
  default     = ""
  description = "Helm chart to release as green instead of the pipeline's Deployment: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Released as APP-VERSION, which must name its Deployment; podLabels (app, version) must reach its pod template. See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release as green instead of the pipeline's Deployment: a directory holding a kustomization.yaml whose Deployment and container are named after app; the pipeline adds the suffix -VERSION and the labels app and version, and sets the image. Empty: the manifests; not with chart"
}
