# The application as one Deployment with a rolling update (seeds 002, 003):
# maxSurge new pods start before old ones stop, and at most maxUnavailable
# of the wanted replicas are ever not Ready, so serving capacity holds
# through the release.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: ${progress_deadline}
  selector:
    matchLabels:
      app: ${app}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: ${max_surge}
      maxUnavailable: ${max_unavailable}
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
---
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  selector:
    app: ${app}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
