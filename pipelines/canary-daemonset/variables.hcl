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
  description = "Application name: the DaemonSet and the app label"
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

variable "canary_nodes" {
  type        = map(string)
  description = "Labels of the canary nodes, e.g. { \"cutover.dev/canary\" = \"true\" }: their pods are updated first"
  validation {
    condition     = length(var.canary_nodes) > 0
    error_message = "canary_nodes must name at least one label, or the canary is every node"
  }
}

variable "node_selector" {
  type        = map(string)
  default     = {}
  description = "nodeSelector of the DaemonSet: the nodes it runs on (every node when empty); with a chart, merged into its nodeSelector value; with an overlay, the overlay's is used"
  validation {
    condition     = var.overlay == "" || length(var.node_selector) == 0
    error_message = "node_selector does not reach an overlay, whose nodeSelector is its own: set it in the overlay, or leave node_selector out"
  }
}

variable "max_unavailable" {
  type        = number
  default     = 1
  description = "How many nodes' pods are replaced at once"
  validation {
    condition     = var.max_unavailable >= 1
    error_message = "max_unavailable must be at least 1"
  }
}

variable "canary_url" {
  type        = string
  default     = ""
  description = "Endpoint checked once the canary nodes are updated; empty skips that gate"
}

variable "health_url" {
  type        = string
  default     = ""
  description = "Endpoint checked once every node is updated; empty skips that gate"
}

variable "pod_annotations" {
  type        = map(string)
  default     = {}
  description = "Extra annotations on the pod template (e.g. cutover.test/never-ready = \"true\" to rehearse a failed canary)"
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
  description = "Helm chart to release instead of the pipeline's manifests: a chart directory or a packaged .tgz, relative to the pipeline directory (or absolute). Its release is named after app, which must name its DaemonSet; the pipeline's values follow chart_values: image.tag (version), image.repository only when image is given, podAnnotations, podLabels (app, version), nodeSelector (node_selector) and updateStrategy (OnDelete). See pipelines/README.md, \"Charts and overlays\". Empty: the manifests; not with overlay"
}

variable "chart_values" {
  type        = list(string)
  default     = []
  description = "Values files of the chart, in order, relative to the pipeline directory; the pipeline's values come after them"
}

variable "overlay" {
  type        = string
  default     = ""
  description = "Kustomize overlay to release instead of the pipeline's manifests: a directory holding a kustomization.yaml whose DaemonSet and container are named after app, with updateStrategy OnDelete; the container's image tag is set to version (its repository to image only when given), everything else (nodeSelector, annotations) is the overlay's. Empty: the manifests; not with chart"
}
