# The seed's blue/green and nothing more (seeds 001/002): deploy green and
# wait for it, switch the Service's selector to it, scale blue to zero. No
# lint, no gates, no probe, every pipeline setting left at its default (the
# journal, and the lock wherever the binary takes one by default): the run
# BenchmarkBareBlueGreen holds against the seed's five kubectl commands.
pipeline "bare-blue-green" {}

variable "version" {
  type        = string
  description = "Green: the Deployment demo-VERSION, selected by the Service's version label once live"
}

stage "deploy_green" {
  deploy {
    manifests = [templatefile("deployment.yaml.tpl", { version = var.version })]
  }
}

stage "switch" {
  depends_on = [stage.deploy_green]
  switch_selector {
    service  = "demo"
    selector = { version = var.version }
  }
}

stage "retire_blue" {
  depends_on = [stage.switch]
  scale {
    name     = "demo-${stage.switch.output.previous.version}"
    replicas = 0
  }
}
