# Graceful offline: an instance group is taken out of
# rotation first — its "mark me DOWN" endpoint is called (Eureka's
# /actuator/service-registry?status=DOWN, /actuator/pause) while it keeps
# serving — and only once Prometheus shows that its traffic has reached
# zero is it scaled down, so no in-flight request is cut. If the traffic
# does not drain, or anything after the DOWN fails, the run marks it UP
# again (the undo block of mark_down) and puts its replicas back.
pipeline "graceful-offline" {
  description = "Take ${var.workload} out of rotation, wait for zero traffic, then scale it to ${var.replicas}"
  namespace   = var.namespace
  lock        = "${var.workload}-offline"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  online_url = var.online_url != "" ? var.online_url : replace(var.offline_url, "status=DOWN", "status=UP")
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

stage "mark_down" {
  depends_on = [stage.running]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  http {
    url           = var.offline_url
    method        = var.method
    expect_status = [200, 202, 204]
    timeout       = "10s"
  }
  undo {
    http {
      url           = local.online_url
      method        = var.method
      expect_status = [200, 202, 204]
      timeout       = "10s"
    }
  }
}

# After the clients' cache delay, every reading must be zero.
stage "drained" {
  depends_on = [stage.mark_down]
  verify {
    initial_delay = var.drain_delay
    interval      = var.analysis_interval
    count         = var.analysis_count
    failure_limit = 0
    prometheus {
      address   = var.prometheus_address
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
