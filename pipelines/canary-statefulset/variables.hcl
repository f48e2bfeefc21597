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
  description = "Application name: the StatefulSet, its headless Service and the app label"
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
  default     = "bebullish/demo"
  description = "Image repository; the tag is the version"
}

variable "replicas" {
  type        = number
  default     = 3
  description = "Replicas of the StatefulSet; the new template is applied with the partition at this count (with an overlay, the overlay's replicas and partition are used)"
  validation {
    condition     = var.replicas >= 1
    error_message = "replicas must be at least 1"
  }
}

variable "partitions" {
  type        = list(number)
  default     = [2, 0]
  description = "The partitions to step down through, each followed by its gates; the last must be 0 (every pod updated)"
  validation {
    condition     = length(var.partitions) > 0 && var.partitions[length(var.partitions) - 1] == 0
    error_message = "partitions must end with 0, or the release leaves pods on the old version"
  }
  validation {
    condition     = alltrue([for i, p in var.partitions : p >= 0 && (i == 0 || p < var.partitions[max(i - 1, 0)])])
    error_message = "partitions must go down, each at least 0, such as [2, 1, 0]"
  }
}

variable "health_url" {
  type        = string
  default     = ""
  description = "Endpoint checked after each step; empty skips that gate"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed step)"
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
  description = "Helm chart to release instead of the pipeline's manifests: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Its release is named after app, which must name its StatefulSet; the pipeline's values follow chart_values: image.repository and image.tag (image, version), replicaCount, podAnnotations, podLabels (app, version) and updateStrategy (partition at replicas). See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release instead of the pipeline's manifests: a directory holding a kustomization.yaml whose StatefulSet and container are named after app, with updateStrategy RollingUpdate and its partition at its replica count; the container's image is set to image:version, everything else is the overlay's. Empty: the manifests; not with chart"
}
