# One colour of the application: the Deployment ${app}-${version}. Blue and
# green differ only by the version label, which the Service selects on.
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
