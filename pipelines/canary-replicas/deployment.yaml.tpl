# One version of the application: the Deployment ${app}-${version}. All
# versions share the app label, so the one Service spreads requests over
# every Ready pod: 1 canary pod next to 10 stable ones gets ~1/11 of them.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}-${version}
  labels:
    app: ${app}
    version: ${version}
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: ${progress_deadline}
  selector:
    matchLabels:
      app: ${app}
      version: ${version}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: ${app}
        version: ${version}
      annotations: ${jsonencode(pod_annotations)}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: ${app}
          image: ${image}:${version}
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 2
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "5"]
