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
  default     = null
  description = "Image repository; the tag is the version. Not given: bebullish/demo for the pipeline's manifests, while a chart keeps its values' image.repository and an overlay its image"
}

variable "replicas" {
  type        = number
  default     = null
  description = "Replicas of the StatefulSet; the new template is applied with the partition at this count. Not given: 3 for the pipeline's manifests; for a chart its values' replicaCount, the partition then 2147483647 (the largest, above any count); an overlay's replicas and partition are always its own"
  validation {
    condition     = coalesce(var.replicas, 1) >= 1
    error_message = "replicas must be at least 1"
  }
  validation {
    condition     = var.overlay == "" || var.replicas == null
    error_message = "replicas does not reach an overlay, whose replica count is its own: set it in the overlay (replicas:), or leave replicas out"
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
  validation {
    condition     = var.overlay == "" || length(var.pod_annotations) == 0
    error_message = "pod_annotations do not reach an overlay, whose pod template is its own: set them in the overlay (a patch, or commonAnnotations), or release without overlay"
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
  description = "Helm chart to release instead of the pipeline's manifests: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Its release is named after app, which must name its StatefulSet; the pipeline's values follow chart_values: image.tag (version), image.repository and replicaCount only when image and replicas are given, podAnnotations, podLabels (app, version) and updateStrategy (partition at replicas, or at 2147483647 when replicas is not given). See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release instead of the pipeline's manifests: a directory holding a kustomization.yaml whose StatefulSet and container are named after app, with updateStrategy RollingUpdate and its partition at its replica count; the container's image tag is set to version (its repository to image only when given), everything else is the overlay's. Empty: the manifests; not with chart"
}
