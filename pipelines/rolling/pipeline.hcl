# Rolling update with a manual gate: the new template is
# applied without waiting, the rollout is paused as soon as the first new pod
# exists (kubectl rollout pause), a person looks at the first new pod serving
# next to the old ones and answers `cutover approve RUN` (kubectl rollout
# resume) or `cutover abort RUN`; then the rollout is awaited and checked.
# Any failure — abort, stuck rollout, failed gate — restores the previous
# Deployment spec and waits until it is rolled back (kubectl rollout undo).
pipeline "rolling" {
  description = "Rolling update of ${var.app} with a pause/resume gate"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "2h"
}

locals {
  manifests = templatefile("app.yaml.tpl", {
    app               = var.app
    version           = var.version
    image             = coalesce(var.image, "bebullish/demo")
    replicas          = coalesce(var.replicas, 3)
    pod_annotations   = var.pod_annotations
    progress_deadline = coalesce(var.progress_deadline, 120)
    max_surge         = coalesce(var.max_surge, "1")
    max_unavailable   = coalesce(var.max_unavailable, "0")
  })

  # What is released: the manifests above, or a chart, or an overlay
  # (pipelines/README.md, "Charts and overlays"). A chart or kustomize block
  # whose path is empty counts as absent, so one stage takes any of them.
  own = var.chart == "" && var.overlay == ""
  chart_values = concat(var.chart_values, [merge({
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = { app = var.app, version = var.version }
    strategy       = { type = "RollingUpdate", rollingUpdate = { maxSurge = coalesce(var.max_surge, "1"), maxUnavailable = coalesce(var.max_unavailable, "0") } }
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
  }
}

# Applied without waiting: the rollout is awaited (and paused) below. The
# built-in undo restores the previous spec; paused, it rolls out once
# pause_rollout's undo resumes it, which waits for it.
stage "deploy" {
  depends_on = [stage.lint]
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
    wait   = false
  }
}

# The Deployment controller has made the first pod of the new template
# (with maxSurge 1 and maxUnavailable 0, exactly one: the old pods all serve).
stage "first_pod" {
  depends_on = [stage.deploy]
  when       = var.approval
  timeout    = "5m"
  wait {
    resource {
      kind = "Deployment"
      name = var.app
    }
    # observedGeneration first: until the controller has seen the new
    # template, updatedReplicas still counts pods of the old one.
    until = try(object.status.observedGeneration >= object.metadata.generation && object.status.updatedReplicas >= 1, false)
  }
}

# kubectl rollout pause. Its own undo puts spec.paused back as it was (undo
# restores only the fields a stage set, so the deploy's undo does not), and
# runs last: the old template is back before the rollout is resumed, so the
# controller never rolls this release forward during an undo.
stage "pause_rollout" {
  depends_on = [stage.first_pod]
  when       = var.approval
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  patch {
    kind  = "Deployment"
    name  = var.app
    patch = { spec = { paused = true } }
  }
}

stage "approval" {
  depends_on = [stage.pause_rollout]
  when       = var.approval
  pause {
    message    = "${var.app} ${var.version}: the first new pod serves next to the old ones; approve to continue the rollout, abort to roll back"
    timeout    = var.approval_timeout
    on_timeout = "abort"
  }
}

# kubectl rollout resume.
stage "resume_rollout" {
  depends_on = [stage.approval]
  when       = var.approval
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  patch {
    kind  = "Deployment"
    name  = var.app
    patch = { spec = { paused = false } }
  }
}

stage "rollout" {
  depends_on = [stage.resume_rollout, stage.deploy]
  timeout    = "15m"
  wait {
    resource {
      kind = "Deployment"
      name = var.app
    }
    rollout = true
  }
}

stage "ready" {
  depends_on = [stage.rollout]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "Deployment"
      name      = var.app
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0
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
