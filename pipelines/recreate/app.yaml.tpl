# The application as one Deployment with the Recreate strategy (seed 002):
# every old pod is stopped before any new one starts, so there is downtime
# (stop + start), but two versions never serve at once — for apps that
# cannot run side by side (schema migrations, singletons, RWO volumes).
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
    type: Recreate
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
