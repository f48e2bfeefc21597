# Canary by replicas: the new version starts with one replica
# behind the same Service as the old version's ten, so it gets a share of
# the real traffic in proportion; once checked it is scaled to full size and
# the old Deployment is deleted. Undo: the old Deployment comes back (it is
# re-created from the journal if it was already deleted), the new one goes.
pipeline "canary-replicas" {
  description = "Canary release of ${var.app} by replica count: ${var.canary_replicas} new next to the old, then all new"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  new = "${var.app}-${var.version}"
  old = "${var.app}-${var.previous_version}"
  deployment = templatefile("deployment.yaml.tpl", {
    app               = var.app
    version           = var.version
    image             = coalesce(var.image, "bebullish/demo")
    replicas          = var.canary_replicas
    pod_annotations   = var.pod_annotations
    progress_deadline = coalesce(var.progress_deadline, 120)
  })
  service = templatefile("service.yaml.tpl", { app = var.app })

  # The canary is the Deployment above, or a chart released as APP-VERSION,
  # or an overlay whose objects get the suffix -VERSION (pipelines/README.md,
  # "Charts and overlays"); the shared Service is always the pipeline's. A
  # chart or kustomize block whose path is empty counts as absent.
  own        = var.chart == "" && var.overlay == ""
  pod_labels = { app = var.app, version = var.version }
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
    url       = var.health_url
    timeout   = "2s"
    condition = result.status == 200
  }
}

analysis "live_healthy" {
  interval      = var.analysis_interval
  count         = var.analysis_count
  failure_limit = 0
  http {
    url       = var.smoke_url
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
    manifests = local.own ? [local.deployment, local.service] : null
    chart {
      path    = var.chart
      release = local.new
      values  = local.chart_values
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
    }
    # By design the Service spans both versions' pods, and the canary runs
    # a single replica for a while.
    ignore = ["selector-matches-many", "single-replica"]
  }
}

stage "service" {
  depends_on = [stage.lint]
  when       = var.initial
  deploy {
    manifests = [local.service]
  }
}

stage "deploy_canary" {
  depends_on = [stage.lint, stage.service]
  timeout    = "10m"
  deploy {
    manifests = local.own ? [local.deployment] : null
    # The stages below gate and scale the Deployment APP-VERSION: a chart or
    # overlay that does not render it stops the pipeline before it writes.
    chart {
      path    = var.chart
      release = local.new
      values  = local.chart_values
      workload {
        kind   = "Deployment"
        name   = local.new
        labels = local.pod_labels
      }
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
      workload {
        kind   = "Deployment"
        name   = local.new
        labels = local.pod_labels
      }
    }
    images = local.images
  }
}

stage "canary_ready" {
  depends_on = [stage.deploy_canary]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Deployment"
      name      = local.new
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0
    }
  }
}

stage "verify_canary" {
  depends_on = [stage.canary_ready]
  when       = var.health_url != ""
  verify {
    analysis = analysis.canary_healthy
  }
}

# A person looks at the canary serving its share next to the old pods
# (dashboards, logs) before it takes all the traffic.
stage "approval" {
  depends_on = [stage.verify_canary]
  when       = var.approval
  pause {
    message    = "${var.app} ${var.version}: ${var.canary_replicas} new pod(s) serve next to the ${var.previous_version} pods; approve to scale up, abort to roll back"
    timeout    = var.approval_timeout
    on_timeout = "abort"
  }
}

stage "scale_up" {
  depends_on = [stage.verify_canary, stage.approval]
  timeout    = "10m"
  scale {
    name     = local.new
    replicas = var.replicas
  }
}

stage "verify_full" {
  depends_on = [stage.scale_up]
  when       = var.smoke_url != ""
  verify {
    analysis = analysis.live_healthy
  }
}

# Deleted, not scaled: the built-in undo re-creates it from the journal.
stage "delete_old" {
  depends_on = [stage.verify_full]
  when       = var.previous_version != ""
  delete {
    kind = "Deployment"
    name = local.old
  }
}
