# Graceful offline: every instance of a workload is taken out of rotation
# first — its own "mark me DOWN" endpoint is called on each pod, through the
# API server's pod proxy (pod_http), while it keeps serving — and only once
# the registry shows none of them UP after the clients' cache time (and, with
# Prometheus, their traffic has reached zero) is it scaled down, so no
# client picks an instance that is stopping. If anything after the DOWN
# fails, the run puts the replicas back and marks every pod UP again with
# the inverse call (the undo block of mark_down).
pipeline "graceful-offline" {
  description = "Take ${var.workload} out of rotation, wait until the registry and the traffic show it out, then scale it to ${var.replicas}"
  namespace   = var.namespace
  lock        = "${var.workload}-offline"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  # The inverse of the DOWN call: status=DOWN → status=UP (Spring Cloud's
  # /actuator/service-registry), /pause → /resume.
  online_path = var.online_path != "" ? var.online_path : replace(replace(var.offline_path, "status=DOWN", "status=UP"), "/actuator/pause", "/actuator/resume")
  # The drained stage is skipped without Prometheus; its address must
  # still be a URL to pass validation.
  prometheus = var.prometheus_address != "" ? var.prometheus_address : "http://prometheus.invalid"
  query      = var.inflight_query != "" ? var.inflight_query : "sum(rate(http_server_requests_seconds_count{pod=~\"${var.workload}-.*\"}[1m]))"
}

analysis "smoke" {
  interval      = var.analysis_interval
  count         = var.analysis_count
  failure_limit = 0
  http {
    url       = var.smoke_url
    timeout   = "2s"
    condition = result.status == 200
  }
}

# The workload exists and serves: taking a wrong name DOWN would be worse
# than doing nothing.
stage "running" {
  verify {
    interval      = "1s"
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = var.kind
      name      = var.workload
      condition = result.ready_pods >= 1
    }
  }
}

# Each pod by its own address: a request through the Service would reach one.
stage "mark_down" {
  depends_on = [stage.running]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  pod_http {
    kind          = var.kind
    name          = var.workload
    port          = var.port
    path          = var.offline_path
    method        = var.method
    expect_status = [200, 202, 204]
    timeout       = "10s"
  }
  undo {
    pod_http {
      kind          = var.kind
      name          = var.workload
      port          = var.port
      path          = local.online_path
      method        = var.method
      expect_status = [200, 202, 204]
      timeout       = "10s"
    }
  }
}

# After the clients' cache time, the registry lists none of the workload's
# instances UP, at every reading: Eureka's JSON (application.instance, by
# hostName, the pod's name) or a list of {id, status}.
stage "deregistered" {
  depends_on = [stage.mark_down]
  verify {
    initial_delay = var.drain_delay
    interval      = var.analysis_interval
    count         = var.analysis_count
    failure_limit = 0
    http {
      url       = var.registry_url
      headers   = { Accept = "application/json" }
      timeout   = "5s"
      condition = length([for i in try(result.json.instances, result.json.application.instance, []) : i if i.status == "UP" && trimprefix(try(i.id, i.hostName, ""), "${var.workload}-") != try(i.id, i.hostName, "")]) == 0
    }
  }
}

# With Prometheus: every reading of the workload's traffic must be zero.
stage "drained" {
  depends_on = [stage.deregistered]
  when       = var.prometheus_address != ""
  verify {
    interval      = var.analysis_interval
    count         = var.analysis_count
    failure_limit = 0
    prometheus {
      address   = local.prometheus
      query     = local.query
      timeout   = "10s"
      condition = coalesce(result.value, 0) == 0
    }
  }
}

stage "scale_down" {
  depends_on = [stage.drained]
  timeout    = "10m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  scale {
    kind     = var.kind
    name     = var.workload
    replicas = var.replicas
  }
}

stage "verify_after" {
  depends_on = [stage.scale_down]
  when       = var.smoke_url != ""
  verify {
    analysis = analysis.smoke
  }
}

output "previous_replicas" {
  value = stage.scale_down.output.previous
}

output "marked_down" {
  value = stage.mark_down.output.pods
}
