variable "workload" {
  type        = string
  description = "Name of the workload to take offline, e.g. demo-v1 (the old version after a release, or an instance group being retired)"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.workload))
    error_message = "workload must be a Kubernetes object name"
  }
}

variable "kind" {
  type        = string
  default     = "Deployment"
  description = "Kind of the workload: Deployment, StatefulSet or ReplicaSet"
  validation {
    condition     = contains(["Deployment", "StatefulSet", "ReplicaSet"], var.kind)
    error_message = "kind must be Deployment, StatefulSet or ReplicaSet"
  }
}

variable "namespace" {
  type        = string
  default     = ""
  description = "Namespace of the workload; empty means the kubeconfig context's (or --namespace)"
}

variable "replicas" {
  type        = number
  default     = 0
  description = "Replicas the workload keeps once its traffic is zero (0: stop it)"
  validation {
    condition     = var.replicas >= 0
    error_message = "replicas must be zero or more"
  }
}

variable "offline_url" {
  type        = string
  description = "The application's \"mark me DOWN\" endpoint, e.g. http://demo-v1:8000/actuator/service-registry?status=DOWN (Eureka) or http://demo-v1:8000/actuator/pause"
}

variable "online_url" {
  type        = string
  default     = ""
  description = "The endpoint that marks it UP again, called when the run fails after the DOWN; empty: offline_url with status=DOWN replaced by status=UP"
}

variable "method" {
  type        = string
  default     = "POST"
  description = "HTTP method of the DOWN and UP calls (Spring Boot actuator endpoints take POST)"
}

variable "prometheus_address" {
  type        = string
  description = "Prometheus that scrapes the application, e.g. http://prometheus.monitoring:9090"
}

variable "inflight_query" {
  type        = string
  default     = ""
  description = "PromQL giving the requests the workload still serves (no series counts as zero); empty: the request rate of Spring Boot's http_server_requests_seconds for pods named WORKLOAD-*"
}

variable "drain_delay" {
  type        = string
  default     = "90s"
  description = "Time between the DOWN call and the first traffic reading: how long clients may keep the instance in their cache (Eureka's default is up to 90s)"
}

variable "analysis_interval" {
  type        = string
  default     = "10s"
  description = "Time between two traffic readings"
}

variable "analysis_count" {
  type        = number
  default     = 3
  description = "Readings of zero traffic needed before the workload is scaled down; one non-zero reading fails the run (and the workload is marked UP again)"
}

variable "smoke_url" {
  type        = string
  default     = ""
  description = "Endpoint of the application checked after the scale-down (the instances that remain, or the new version); empty skips that gate"
}
