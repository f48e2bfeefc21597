# Red/black on ReplicaSets, as CODING CD does it: the Service
# selects a label (createBy = APP-service) that no template carries. The new
# ReplicaSet is created, checked, and then its pods get the label — from
# that moment they take traffic next to the old ones. After the live gate
# the label is removed from the old ReplicaSet's pods (they leave the
# Service) and the old ReplicaSet is scaled to zero ("disabled").
# Undo: every label goes back as it was, the new ReplicaSet is deleted.
pipeline "red-black" {
  description = "Red/black release of ${var.app}: move the ${var.traffic_label} label from the old ReplicaSet to the new"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "30m"
}

locals {
  new_rs  = "${var.app}-${var.version}"
  old_rs  = "${var.app}-${var.previous_version}"
  traffic = { (var.traffic_label) = "${var.app}-service" }
  replicaset = templatefile("replicaset.yaml.tpl", {
    app             = var.app
    version         = var.version
    image           = coalesce(var.image, "bebullish/demo")
    replicas        = coalesce(var.replicas, 3)
    pod_annotations = var.pod_annotations
  })
  service = templatefile("service.yaml.tpl", { app = var.app, selector = local.traffic })

  # The new server group is the ReplicaSet above, or a chart released as
  # APP-VERSION, or an overlay whose objects get the suffix -VERSION
  # (pipelines/README.md, "Charts and overlays"); the Service is always the
  # pipeline's. A chart or kustomize block whose path is empty is absent.
  own        = var.chart == "" && var.overlay == ""
  pod_labels = { app = var.app, version = var.version }
  chart_values = concat(var.chart_values, [merge({
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = local.pod_labels
  }, { for k, v in { replicaCount = var.replicas } : k => v if v != null })])
  images = var.overlay == "" ? {} : { (var.app) = "${var.image == null ? "" : var.image}:${var.version}" }
}

analysis "new_healthy" {
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
    manifests = local.own ? [local.replicaset, local.service] : null
    chart {
      path    = var.chart
      release = local.new_rs
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

# The new server group, waited for until every replica is Ready.
stage "deploy_new" {
  depends_on = [stage.lint]
  timeout    = "10m"
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  deploy {
    manifests = local.own ? [local.replicaset] : null
    # The stages below label and scale the ReplicaSet APP-VERSION: a chart
    # or overlay that does not render it stops the pipeline before it writes.
    chart {
      path    = var.chart
      release = local.new_rs
      values  = local.chart_values
      workload {
        kind   = "ReplicaSet"
        name   = local.new_rs
        labels = local.pod_labels
      }
    }
    kustomize {
      path        = var.overlay
      name_suffix = "-${var.version}"
      labels      = local.pod_labels
      workload {
        kind   = "ReplicaSet"
        name   = local.new_rs
        labels = local.pod_labels
      }
    }
    images = local.images
  }
}

stage "new_ready" {
  depends_on = [stage.deploy_new]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "ReplicaSet"
      name      = local.new_rs
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0
    }
  }
}

stage "verify_new" {
  depends_on = [stage.new_ready]
  when       = var.health_url != ""
  verify {
    analysis = analysis.new_healthy
  }
}

# The new pods join the Service (template too, so replacements keep it).
stage "label_new" {
  depends_on = [stage.verify_new, stage.service]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  label {
    kind = "ReplicaSet"
    name = local.new_rs
    add  = local.traffic
  }
}

stage "verify_live" {
  depends_on = [stage.label_new]
  when       = var.smoke_url != ""
  verify {
    analysis = analysis.live_healthy
  }
}

# The old pods leave the Service; they keep running until the next stage.
stage "unlabel_old" {
  depends_on = [stage.verify_live]
  when       = var.previous_version != ""
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  label {
    kind   = "ReplicaSet"
    name   = local.old_rs
    remove = [var.traffic_label]
  }
}

stage "disable_old" {
  depends_on = [stage.unlabel_old]
  when       = var.previous_version != ""
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "1s"
  }
  scale {
    kind     = "ReplicaSet"
    name     = local.old_rs
    replicas = 0
  }
}
