# Blue/green by Ingress: each colour has its own Deployment and
# Service; green is deployed and checked through its own Service, then the
# Ingress backend moves from blue's Service to green's in one write. Blue is
# scaled to zero but kept, so going back is one backend change.
pipeline "blue-green-ingress" {
  description = "Blue/green release of ${var.app} by switching its Ingress backend"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  green = "${var.app}-${var.version}"
  deployment = templatefile("deployment.yaml.tpl", {
    app               = var.app
    version           = var.version
    image             = coalesce(var.image, "bebullish/demo")
    replicas          = coalesce(var.replicas, 3)
    pod_annotations   = var.pod_annotations
    progress_deadline = coalesce(var.progress_deadline, 120)
  })
  ingress = templatefile("ingress.yaml.tpl", {
    app = var.app, version = var.version, host = var.host, ingress_class = var.ingress_class
  })

  # Green (its Deployment and Service) is the manifests above, or a chart
  # released as APP-VERSION, or an overlay whose objects get the suffix
  # -VERSION (pipelines/README.md, "Charts and overlays"); the Ingress is
  # always the pipeline's. A chart or kustomize block whose path is empty
  # counts as absent.
  own        = var.chart == "" && var.overlay == ""
  pod_labels = { app = var.app, version = var.version }
  chart_values = concat(var.chart_values, [merge({
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = local.pod_labels
  }, { for k, v in { replicaCount = var.replicas } : k => v if v != null })])
  images = var.overlay == "" ? {} : { (var.app) = "${var.image == null ? "" : var.image}:${var.version}" }
}

analysis "green_healthy" {
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

stage "lint" {
  lint {
    manifests = local.own ? [local.deployment] : null
    chart {
      path    = var.chart
      release = local.green
      values  = local.chart_values
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
    }
  }
}

stage "deploy_green" {
  depends_on = [stage.lint]
  timeout    = "10m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = local.own ? [local.deployment] : null
    # The stages below act on the Deployment (and Service) APP-VERSION: a
    # chart or overlay that does not render it stops the pipeline before it
    # writes.
    chart {
      path    = var.chart
      release = local.green
      values  = local.chart_values
      workload {
        kind   = "Deployment"
        name   = local.green
        labels = local.pod_labels
      }
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
      workload {
        kind   = "Deployment"
        name   = local.green
        labels = local.pod_labels
      }
    }
    images = local.images
  }
}

stage "ingress" {
  depends_on = [stage.deploy_green]
  when       = var.initial
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = [local.ingress]
  }
}

# Green's own Service has an endpoint for every replica, and none restarts
# (a chart's replicas are its values' unless -var replicas: then every pod
# its selector matches, which the deploy waited for).
stage "green_ready" {
  depends_on = [stage.deploy_green]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Service"
      name      = local.green
      condition = result.ready_pods == coalesce(var.replicas, local.own ? 3 : result.pods) && result.ready_pods > 0 && result.restarts == 0
    }
  }
}

stage "verify_green" {
  depends_on = [stage.green_ready]
  when       = var.health_url != ""
  verify {
    analysis = analysis.green_healthy
  }
}

stage "switch" {
  depends_on = [stage.verify_green, stage.ingress]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  switch_backend {
    ingress = var.app
    service = local.green
  }
}

stage "verify_live" {
  depends_on = [stage.switch]
  when       = var.smoke_url != ""
  verify {
    analysis = analysis.live_healthy
  }
}

# The previous backend is blue's Service, named like its Deployment.
stage "retire_blue" {
  depends_on = [stage.verify_live]
  when       = stage.switch.output.previous != local.green
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  scale {
    name     = stage.switch.output.previous
    replicas = 0
  }
}

output "previous_backend" {
  value = stage.switch.output.previous
}
