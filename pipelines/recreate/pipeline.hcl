# Recreate: apply the new version with strategy Recreate and wait
# until it is rolled out; a failed rollout or gate brings the previous
# Deployment spec back (the built-in undo of deploy) and waits for it.
pipeline "recreate" {
  description = "Recreate release of ${var.app}: stop every old pod, then start the new ones"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "20m"
}

locals {
  manifests = templatefile("app.yaml.tpl", {
    app               = var.app
    version           = var.version
    image             = coalesce(var.image, "bebullish/demo")
    replicas          = coalesce(var.replicas, 3)
    pod_annotations   = var.pod_annotations
    progress_deadline = coalesce(var.progress_deadline, 120)
  })

  # What is released: the manifests above, or a chart, or an overlay
  # (pipelines/README.md, "Charts and overlays"). A chart or kustomize block
  # whose path is empty counts as absent, so one stage takes any of them.
  own = var.chart == "" && var.overlay == ""
  chart_values = concat(var.chart_values, [merge({
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = { app = var.app, version = var.version }
    strategy       = { type = "Recreate", rollingUpdate = null }
  }, { for k, v in { replicaCount = var.replicas } : k => v if v != null })])
  images = var.overlay == "" ? {} : { (var.app) = "${var.image == null ? "" : var.image}:${var.version}" }
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
    # Recreate is the point here: the whole Deployment goes down by design.
    ignore = ["single-replica"]
  }
}

stage "deploy" {
  depends_on = [stage.lint]
  timeout    = "10m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = local.own ? [local.manifests] : null
    chart {
      path    = var.chart
      release = var.app
      values  = local.chart_values
    }
    kustomize {
      path = var.overlay
    }
    images = local.images
  }
}

# Every replica Ready on the new version and none restarting.
stage "ready" {
  depends_on = [stage.deploy]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Deployment"
      name      = var.app
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0 && result.status.updatedReplicas == result.spec.replicas
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

output "revision" {
  value = stage.deploy.output.revision
}
