# One track of the application: the stable track (Deployment and Service
# ${app}) or the canary track (${app}-canary). The router splits requests
# between the two Services; the pods' version label says what each runs.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${app}
    track: ${track}
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: ${progress_deadline}
  selector:
    matchLabels:
      app: ${app}
      track: ${track}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: ${app}
        track: ${track}
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
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app: ${app}
    track: ${track}
spec:
  selector:
    app: ${app}
    track: ${track}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
