# Canary by weight with Istio: the new version runs as a
# canary track next to the stable one; the VirtualService sends it first
# the requests that carry a header (A/B, a route ahead of the others), then
# growing shares of all requests (destination weights), each step checked by
# a gate. Then the stable track is updated to the new version, the canary's
# weight goes back to 0 and the canary track is scaled to zero. Any failure
# puts the http routes, the stable track and the canary track back.
pipeline "canary-istio" {
  description = "Canary release of ${var.app} ${var.version} by Istio VirtualService weights"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "1h"
}

locals {
  canary = var.version != var.stable_version
  ab     = local.canary && var.ab_header != ""
  common = {
    app = var.app, image = coalesce(var.image, "bebullish/demo"), progress_deadline = var.progress_deadline
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
  route = templatefile("virtualservice.yaml.tpl", {
    app = var.app, host = var.host, gateway = var.gateway
  })

  # The canary track is the Deployment and Service APP-canary above, or a
  # chart released as APP-VERSION (its Deployment and Service), or an
  # overlay whose objects get the suffix -VERSION (pipelines/README.md,
  # "Charts and overlays"); the stable track and the VirtualService are always
  # the pipeline's. A chart or kustomize block whose path is empty counts as
  # absent.
  own         = var.chart == "" && var.overlay == ""
  canary_name = local.own ? "${var.app}-canary" : "${var.app}-${var.version}"
  pod_labels  = { app = var.app, version = var.version }
  chart_values = concat(var.chart_values, [{
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    replicaCount   = var.canary_replicas
    podAnnotations = var.pod_annotations
    podLabels      = local.pod_labels
  }])
  images = var.overlay == "" ? {} : { (var.app) = "${var.image == null ? "" : var.image}:${var.version}" }
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

# Every stage retries what the API or a command reports as transient (a
# failed gate is a verdict and is never retried).
defaults {
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
}

stage "lint" {
  lint {
    # What the release ends with: the stable track on the new version (with
    # a chart or an overlay, the canary track as it renders).
    manifests = local.own ? [local.canary_workload, local.promoted] : null
    chart {
      path    = var.chart
      release = "${var.app}-${var.version}"
      values  = local.chart_values
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
    }
    # The canary track runs one replica on purpose.
    ignore = ["single-replica"]
  }
}

# The stable track as it is now: a no-op on a running release, the first
# install on an empty namespace.
stage "stable" {
  depends_on = [stage.lint]
  deploy {
    manifests = [local.stable, local.route]
  }
}

stage "deploy_canary" {
  depends_on = [stage.stable]
  when       = local.canary
  timeout    = "10m"
  deploy {
    manifests = local.own ? [local.canary_workload] : null
    # The stages below gate, route to and scale the Deployment and Service
    # of the canary track: a chart or overlay that does not render its
    # Deployment stops the pipeline before it writes.
    chart {
      path    = var.chart
      release = local.canary_name
      values  = local.chart_values
      workload {
        kind   = "Deployment"
        name   = local.canary_name
        labels = local.pod_labels
      }
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
      workload {
        kind   = "Deployment"
        name   = local.canary_name
        labels = local.pod_labels
      }
    }
    images = local.images
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
      name      = local.canary_name
      condition = result.ready_pods == var.canary_replicas && result.restarts == 0
    }
  }
}

# A/B: only requests that ask for the canary get it.
stage "ab" {
  depends_on = [stage.canary_ready]
  when       = local.ab
  traffic {
    router          = "istio"
    virtual_service = var.app
    stable          = var.app
    canary          = local.canary_name
    subsets         = false # stable and canary are Services (hosts), not subsets
    weight          = 0
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

stage "approval_ab" {
  depends_on = [stage.verify_ab]
  when       = local.ab && var.approval
  pause {
    message    = "${var.app} ${var.version} gets the requests with header ${var.ab_header}: ${var.ab_header_value} only; approve the first weight, abort to roll back"
    timeout    = var.approval_timeout
    on_timeout = "abort"
  }
}

# The steps of weight, one instance per element of var.weights
# (weight["10"], weight["30"], …), in order: each waits for the gate of the
# one before it (verify["10"] waits for weight["10"] by each.key).
stage "weight" {
  for_each   = var.weights
  sequential = true
  depends_on = [stage.verify_ab, stage.approval_ab, stage.canary_ready]
  when       = local.canary
  traffic {
    router          = "istio"
    virtual_service = var.app
    stable          = var.app
    canary          = local.canary_name
    subsets         = false # stable and canary are Services (hosts), not subsets
    weight          = each.value
  }
}

stage "verify" {
  for_each   = var.weights
  depends_on = [stage.weight[each.key]]
  when       = local.canary && var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

# With approval, the run waits for `cutover approve RUN` after each weight's
# gate: a person looks at the canary's share of the requests before the
# next step; `cutover abort RUN` rolls back.
stage "approval" {
  for_each   = var.weights
  depends_on = [stage.verify[each.key]]
  when       = local.canary && var.approval
  pause {
    message = (each.key == tostring(var.weights[length(var.weights) - 1])
      ? "${var.app} ${var.version} gets ${each.value} % of the requests, the last step; approve to promote it, abort to roll back"
    : "${var.app} ${var.version} gets ${each.value} % of the requests; approve the next step, abort to roll back")
    timeout    = var.approval_timeout
    on_timeout = "abort"
  }
}

# The stable track now runs the new version (a rolling update while the
# canary still takes its share).
stage "promote" {
  depends_on = [stage.verify, stage.weight, stage.approval]
  when       = local.canary
  timeout    = "15m"
  deploy {
    manifests = [local.promoted]
  }
}

stage "route_stable" {
  depends_on = [stage.promote]
  when       = local.canary
  traffic {
    router          = "istio"
    virtual_service = var.app
    stable          = var.app
    canary          = local.canary_name
    subsets         = false # stable and canary are Services (hosts), not subsets
    weight          = 0
  }
}

stage "retire_canary" {
  depends_on = [stage.route_stable]
  when       = local.canary
  scale {
    name     = local.canary_name
    replicas = 0
  }
}
