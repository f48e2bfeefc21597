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

variable "port" {
  type        = number
  default     = 8080
  description = "Port of the application's actuator endpoints on each pod"
}

variable "offline_path" {
  type        = string
  default     = "/actuator/service-registry?status=DOWN"
  description = "Path of the application's \"mark me DOWN\" endpoint, called on every pod: /actuator/service-registry?status=DOWN (Spring Cloud) or /actuator/pause"
  validation {
    condition     = substr(var.offline_path, 0, 1) == "/"
    error_message = "offline_path is a path on each pod, such as /actuator/service-registry?status=DOWN"
  }
}

variable "online_path" {
  type        = string
  default     = ""
  description = "Path of the endpoint that marks a pod UP again, called on every pod when the run fails after the DOWN; empty: offline_path with status=DOWN replaced by status=UP, or /actuator/pause by /actuator/resume"
}

variable "registry_url" {
  type        = string
  description = "The registry's list of the application's instances, read until none of the workload's is UP: Eureka's http://eureka:8761/eureka/apps/APP, or any JSON {\"instances\": [{\"id\", \"status\"}]}"
}

variable "method" {
  type        = string
  default     = "POST"
  description = "HTTP method of the DOWN and UP calls (Spring Boot actuator endpoints take POST)"
}

variable "prometheus_address" {
  type        = string
  default     = ""
  description = "Prometheus that scrapes the application, e.g. http://prometheus.monitoring:9090; empty: no traffic reading, the registry alone says the instances are out"
}

variable "inflight_query" {
  type        = string
  default     = ""
  description = "PromQL giving the requests the workload still serves (no series counts as zero); empty: the request rate of Spring Boot's http_server_requests_seconds for pods named WORKLOAD-*"
}

variable "drain_delay" {
  type        = string
  default     = "90s"
  description = "Time between the DOWN calls and the first reading of the registry: how long clients may keep an instance in their cache (Eureka's default is up to 90s)"
}

variable "analysis_interval" {
  type        = string
  default     = "10s"
  description = "Time between two readings"
}

variable "analysis_count" {
  type        = number
  default     = 3
  description = "Readings (of the registry, then of the traffic) needed before the workload is scaled down; one bad reading fails the run (and every pod is marked UP again)"
}

variable "smoke_url" {
  type        = string
  default     = ""
  description = "Endpoint of the application checked after the scale-down (the instances that remain, or the new version); empty skips that gate"
}
