# DaemonSet canary on a node subset: the new template is applied to a
# DaemonSet with updateStrategy OnDelete, so no pod takes it; the pods of
# the nodes labelled var.canary_nodes are replaced and checked, then those
# of every node, max_unavailable nodes at a time. Undo: the previous
# template comes back, then the pods the run replaced are replaced again,
# on the restored template. The DaemonSet comes from the pipeline's
# manifest, a Helm chart (var.chart) or a Kustomize overlay (var.overlay).
pipeline "canary-daemonset" {
  description = "Canary release of DaemonSet ${var.app}: the nodes labelled ${jsonencode(var.canary_nodes)} first, then all"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "1h"
}

locals {
  manifests = templatefile("daemonset.yaml.tpl", {
    app             = var.app
    version         = var.version
    image           = coalesce(var.image, "bebullish/demo")
    node_selector   = var.node_selector
    pod_annotations = var.pod_annotations
  })

  # What is released: the manifests above, or a chart, or an overlay
  # (pipelines/README.md, "Charts and overlays"). A chart or kustomize block
  # whose path is empty counts as absent, so one stage takes any of them.
  # The chart is given updateStrategy OnDelete (and node_selector merged
  # into its nodeSelector); an overlay sets its own.
  own        = var.chart == "" && var.overlay == ""
  pod_labels = { app = var.app, version = var.version }
  chart_values = concat(var.chart_values, [{
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = local.pod_labels
    nodeSelector   = var.node_selector
    updateStrategy = { type = "OnDelete", rollingUpdate = null }
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

analysis "healthy" {
  interval      = var.analysis_interval
  count         = var.analysis_count
  failure_limit = 0
  http {
    url       = var.health_url
    timeout   = "2s"
    condition = result.status == 200
  }
}

# Every stage retries what the API reports as transient (a failed gate is a
# verdict and is never retried).
defaults {
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
}

stage "lint" {
  lint {
    manifests = local.own ? [local.manifests] : null
    chart {
      path    = var.chart
      release = var.app
      values  = local.chart_values
    }
    kustomize {
      path = var.overlay
    }
  }
}

# OnDelete: the DaemonSet takes the template, no pod does. The stages below
# replace the pods of DaemonSet APP node by node: a chart or overlay that
# does not render it so (named after app, OnDelete) stops the pipeline
# before it writes.
stage "deploy" {
  depends_on = [stage.lint]
  timeout    = "10m"
  deploy {
    manifests = local.own ? [local.manifests] : null
    chart {
      path    = var.chart
      release = var.app
      values  = local.chart_values
      workload {
        kind   = "DaemonSet"
        name   = var.app
        labels = local.pod_labels
        held   = true
      }
    }
    kustomize {
      path = var.overlay
      workload {
        kind = "DaemonSet"
        name = var.app
        held = true
      }
    }
    images = local.images
  }
}

stage "canary" {
  depends_on = [stage.deploy]
  timeout    = "10m"
  update_nodes {
    daemonset       = var.app
    nodes           = var.canary_nodes
    max_unavailable = var.max_unavailable
  }
}

stage "canary_ready" {
  depends_on = [stage.canary]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "DaemonSet"
      name      = var.app
      condition = result.ready_pods == result.object.status.desiredNumberScheduled && result.restarts == 0
    }
  }
}

stage "verify_canary" {
  depends_on = [stage.canary_ready]
  when       = var.canary_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

stage "all" {
  depends_on = [stage.verify_canary]
  timeout    = "30m"
  update_nodes {
    daemonset       = var.app
    max_unavailable = var.max_unavailable
  }
}

stage "ready" {
  depends_on = [stage.all]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "DaemonSet"
      name      = var.app
      condition = result.ready_pods == result.object.status.desiredNumberScheduled && result.restarts == 0
    }
  }
}

stage "verify" {
  depends_on = [stage.ready]
  when       = var.health_url != ""
  verify {
    analysis = analysis.healthy
  }
}

output "nodes" {
  value = stage.canary.output.nodes
}
