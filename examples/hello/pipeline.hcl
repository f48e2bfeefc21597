# A pipeline that needs no cluster: try cutover in five minutes.
pipeline "hello" {
  description = "Build, smoke-test and announce a release"
  parallelism = 2
}

variable "version" {
  type        = string
  description = "Release being shipped"
  validation {
    condition     = can(regex("^v[0-9]", var.version))
    error_message = "version must look like v1.2.3"
  }
}

variable "token" {
  default   = "not-a-real-token"
  sensitive = true
}

stage "build" {
  exec {
    command = ["sh", "-c", "echo built ${var.version}"]
  }
}

stage "unit_tests" {
  exec {
    command = ["sh", "-c", "echo '{\"passed\": 42}'"]
  }
}

stage "smoke" {
  depends_on = [stage.build, stage.unit_tests]
  retry {
    attempts = 3
    backoff  = "exponential"
    delay    = "200ms"
  }
  exec {
    command = ["sh", "-c", "test ${stage.unit_tests.output.json.passed} -gt 0"]
  }
}

stage "announce" {
  depends_on = [stage.smoke]
  exec {
    command = ["echo", "released ${var.version}: ${trimspace(stage.build.output.stdout)}"]
    env     = { TOKEN = var.token }
  }
}

output "built" {
  value = trimspace(stage.build.output.stdout)
}
