# Canary by weight with the Gateway API (seeds 000, 002): the new version
# runs as a canary track next to the stable one; the HTTPRoute sends it
# first the requests that carry a header (A/B), then growing shares of all
# requests (backendRef weights), each step checked by a gate. Then the
# stable track is updated to the new version, the canary's weight goes back
# to 0 and the canary track is scaled to zero. Any failure puts the route
# rules, the stable track and the canary track back as they were.
pipeline "canary-gateway" {
  description = "Canary release of ${var.app} ${var.version} by Gateway API HTTPRoute weights"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "1h"
}

locals {
  canary = var.version != var.stable_version
  ab     = local.canary && var.ab_header != ""
  common = {
    app = var.app, image = var.image, progress_deadline = var.progress_deadline
  }
  stable = templatefile("workload.yaml.tpl", merge(local.common, {
    name = var.app, track = "stable", version = var.stable_version, replicas = var.replicas, pod_annotations = {}
  }))
  promoted = templatefile("workload.yaml.tpl", merge(local.common, {
    name = var.app, track = "stable", version = var.version, replicas = var.replicas, pod_annotations = {}
  }))
  canary_workload = templatefile("workload.yaml.tpl", merge(local.common, {
    name            = "${var.app}-canary"
    track           = "canary"
    version         = var.version
    replicas        = var.canary_replicas
    pod_annotations = var.pod_annotations
  }))
  route = templatefile("route.yaml.tpl", {
    app = var.app, host = var.host, gateway = var.gateway
  })
}

analysis "canary_healthy" {
  interval      = var.analysis_interval
  count         = var.analysis_count
  failure_limit = 0
  http {
    url       = var.canary_url
    timeout   = "2s"
    condition = result.status == 200
  }
}

stage "lint" {
  lint {
    # What the release ends with: the stable track on the new version.
    manifests = [local.canary_workload, local.promoted]
    # The canary track runs one replica on purpose.
    ignore = ["single-replica"]
  }
}

# The stable track as it is now: a no-op on a running release, the first
# install on an empty namespace.
stage "stable" {
  depends_on = [stage.lint]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = [local.stable, local.route]
  }
}

stage "deploy_canary" {
  depends_on = [stage.stable]
  when       = local.canary
  timeout    = "10m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = [local.canary_workload]
  }
}

stage "canary_ready" {
  depends_on = [stage.deploy_canary]
  when       = local.canary
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Service"
      name      = "${var.app}-canary"
      condition = result.ready_pods == var.canary_replicas && result.restarts == 0
    }
  }
}

# A/B: only requests that ask for the canary get it.
stage "ab" {
  depends_on = [stage.canary_ready]
  when       = local.ab
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  traffic {
    router = "gateway-api"
    route  = var.app
    stable = var.app
    canary = "${var.app}-canary"
    weight = 0
    header {
      name  = var.ab_header
      value = var.ab_header_value
    }
  }
}

stage "verify_ab" {
  depends_on = [stage.ab]
  when       = local.ab && var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

stage "weight_1" {
  depends_on = [stage.verify_ab, stage.canary_ready]
  when       = local.canary
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  traffic {
    router = "gateway-api"
    route  = var.app
    stable = var.app
    canary = "${var.app}-canary"
    weight = var.weights[0]
  }
}

stage "verify_1" {
  depends_on = [stage.weight_1]
  when       = local.canary && var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

stage "weight_2" {
  depends_on = [stage.verify_1, stage.weight_1]
  when       = local.canary
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  traffic {
    router = "gateway-api"
    route  = var.app
    stable = var.app
    canary = "${var.app}-canary"
    weight = var.weights[1]
  }
}

stage "verify_2" {
  depends_on = [stage.weight_2]
  when       = local.canary && var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

stage "weight_3" {
  depends_on = [stage.verify_2, stage.weight_2]
  when       = local.canary
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  traffic {
    router = "gateway-api"
    route  = var.app
    stable = var.app
    canary = "${var.app}-canary"
    weight = var.weights[2]
  }
}

stage "verify_3" {
  depends_on = [stage.weight_3]
  when       = local.canary && var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

# The stable track now runs the new version (a rolling update while the
# canary still takes its share).
stage "promote" {
  depends_on = [stage.verify_3, stage.weight_3]
  when       = local.canary
  timeout    = "15m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = [local.promoted]
  }
}

stage "route_stable" {
  depends_on = [stage.promote]
  when       = local.canary
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  traffic {
    router = "gateway-api"
    route  = var.app
    stable = var.app
    canary = "${var.app}-canary"
    weight = 0
  }
}

stage "retire_canary" {
  depends_on = [stage.route_stable]
  when       = local.canary
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  scale {
    name     = "${var.app}-canary"
    replicas = 0
  }
}
