# StatefulSet canary by partition: the new template is applied with the
# rolling update's partition at the replica count, so no pod takes it; the
# partition is then stepped down (var.partitions, e.g. [2, 0]: the highest
# ordinal first, then all), each step gated. Undo: the partition goes back
# up and the pods a step updated are re-created at the old revision, then
# the previous template and partition are restored. The StatefulSet comes
# from the pipeline's manifest, a Helm chart (var.chart) or a Kustomize
# overlay (var.overlay).
pipeline "canary-statefulset" {
  description = "Canary release of StatefulSet ${var.app} by partition: ${join(" → ", concat([var.replicas != null ? tostring(var.replicas) : var.chart == "" && var.overlay == "" ? "3" : "all held"], [for p in var.partitions : tostring(p)]))}"
  namespace   = var.namespace
  lock        = "${var.app}-release"
  on_failure  = "undo"
  timeout     = "1h"
}

locals {
  manifests = templatefile("statefulset.yaml.tpl", {
    app             = var.app
    version         = var.version
    image           = coalesce(var.image, "bebullish/demo")
    replicas        = coalesce(var.replicas, 3)
    pod_annotations = var.pod_annotations
  })

  # What is released: the manifests above, or a chart, or an overlay
  # (pipelines/README.md, "Charts and overlays"). A chart or kustomize block
  # whose path is empty counts as absent, so one stage takes any of them.
  # The chart is given the partition at replicas when the run sets them;
  # else its values' replicaCount stands and the partition is the largest
  # a StatefulSet takes (2147483647, int32), at or above any replica count,
  # so no pod takes the template either way. An overlay sets its own
  # partition (and its replicas).
  own        = var.chart == "" && var.overlay == ""
  pod_labels = { app = var.app, version = var.version }
  chart_values = concat(var.chart_values, [merge({
    image          = { for k, v in { repository = var.image, tag = var.version } : k => v if v != null }
    podAnnotations = var.pod_annotations
    podLabels      = local.pod_labels
    updateStrategy = { type = "RollingUpdate", rollingUpdate = { partition = coalesce(var.replicas, 2147483647) } }
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

# The partition at the replica count: the StatefulSet takes the template,
# no pod does. The stages below step the partition of StatefulSet APP down:
# a chart or overlay that does not render it so (named after app, the
# partition at its replicas) stops the pipeline before it writes.
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
        kind   = "StatefulSet"
        name   = var.app
        labels = local.pod_labels
        held   = true
      }
    }
    kustomize {
      path = var.overlay
      workload {
        kind = "StatefulSet"
        name = var.app
        held = true
      }
    }
    images = local.images
  }
}

# Pods with an ordinal at or above the partition take the new revision.
stage "step" {
  for_each   = var.partitions
  sequential = true
  depends_on = [stage.deploy]
  timeout    = "10m"
  partition {
    statefulset = var.app
    partition   = each.value
  }
}

stage "ready" {
  for_each   = var.partitions
  depends_on = [stage.step[each.key]]
  verify {
    interval      = var.analysis_interval
    count         = 1
    failure_limit = 0
    kubernetes {
      kind      = "StatefulSet"
      name      = var.app
      condition = result.ready_pods == result.spec.replicas && result.restarts == 0
    }
  }
}

stage "verify" {
  for_each   = var.partitions
  depends_on = [stage.ready[each.key]]
  when       = var.health_url != ""
  verify {
    analysis = analysis.healthy
  }
}

output "revision" {
  value = stage.step[tostring(var.partitions[length(var.partitions) - 1])].output.revision
}
