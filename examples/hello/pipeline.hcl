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

# Values go to commands as argv elements or environment variables, never
# spliced into a shell script: "v1; rm -rf ~" passes the validation above.
stage "build" {
  exec {
    command = ["echo", "built", var.version]
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
    # The script is a constant; the value it checks comes in through env.
    command = ["sh", "-c", "test \"$PASSED\" -gt 0"]
    env     = { PASSED = stage.unit_tests.output.json.passed }
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
