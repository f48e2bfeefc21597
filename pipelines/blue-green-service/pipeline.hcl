# Blue/green by Service: green runs next to blue, is
# checked, then the Service's version selector moves to it in one write;
# blue is scaled to zero but kept, so going back is one selector change.
pipeline "blue-green-service" {
  description = "Blue/green release of ${var.app} by switching its Service selector"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  deployment = templatefile("deployment.yaml.tpl", {
    app               = var.app
    version           = var.version
    image             = coalesce(var.image, "bebullish/demo")
    replicas          = coalesce(var.replicas, 3)
    pod_annotations   = var.pod_annotations
    progress_deadline = coalesce(var.progress_deadline, 120)
  })
  service = templatefile("service.yaml.tpl", { app = var.app, version = var.version })

  # Green is the manifests above, or a chart released as APP-VERSION, or an
  # overlay whose objects get the suffix -VERSION (pipelines/README.md,
  # "Charts and overlays"); the live Service is always the pipeline's. A
  # chart or kustomize block whose path is empty counts as absent.
  green      = "${var.app}-${var.version}"
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

# "while sleep 0.1; do curl …; done" during the switch, as a
# gate: requests at a steady rate through the switch and the live check,
# counting errors and which version answered.
analysis "watch" {
  count         = 1
  failure_limit = 0
  probe {
    url           = var.probe_url
    rate          = var.probe_rate
    duration      = var.probe_duration
    timeout       = "2s"
    version_field = "version"
    condition     = result.error_rate == 0
  }
}

# Zero-downtime hygiene of what is about to be applied (readiness probe,
# preStop, grace period, surge settings), before anything is written.
stage "lint" {
  lint {
    manifests = local.own ? [local.deployment, local.service] : null
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

stage "service" {
  depends_on = [stage.lint]
  when       = var.initial
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = [local.service]
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
    # The stages below act on the Deployment APP-VERSION and select its
    # pods by app and version: a chart or overlay that does not render it
    # stops the pipeline before it writes.
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

# All green pods Ready and none restarting, whatever the health endpoint says.
stage "green_ready" {
  depends_on = [stage.deploy_green]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Deployment"
      name      = local.green
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0
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
  depends_on = [stage.verify_green, stage.service]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  switch_selector {
    service  = var.app
    selector = { version = var.version }
  }
}

stage "verify_live" {
  depends_on = [stage.switch]
  when       = var.smoke_url != ""
  verify {
    analysis = analysis.live_healthy
  }
}

# Runs next to switch and verify_live (same dependencies as switch).
stage "watch" {
  depends_on = [stage.verify_green, stage.service]
  when       = var.probe_url != ""
  verify {
    analysis = analysis.watch
  }
}

# Blue stays, at zero replicas: the built-in undo scales it back up.
stage "retire_blue" {
  depends_on = [stage.verify_live, stage.watch]
  when       = stage.switch.output.previous.version != var.version
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  scale {
    name     = "${var.app}-${stage.switch.output.previous.version}"
    replicas = 0
  }
}

output "versions_seen" {
  value = try(stage.watch.output.last.versions, null)
}

# The version the traffic left: null on a first release (the service stage
# created the Service on this version: the switch found it there already)
# and on a redeploy of the live version.
output "previous_version" {
  value = stage.switch.output.previous.version != var.version ? stage.switch.output.previous.version : null
}
