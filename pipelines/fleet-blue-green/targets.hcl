# The clusters: the canary first, alone; then the rest, together. A gate
# that fails in the second wave undoes it and then the canary.
target "canary" {
  context = var.contexts["canary"]
  labels  = { region = "eu", tier = "canary" }
}

target "eu" {
  context = var.contexts["eu"]
  labels  = { region = "eu", tier = "main" }
}

target "us" {
  context = var.contexts["us"]
  labels  = { region = "us", tier = "main" }
}

wave "canary" {
  targets = ["canary"]
}

wave "rest" {
  targets      = ["eu", "us"]
  parallelism  = 2
  max_failures = var.max_failures
}
