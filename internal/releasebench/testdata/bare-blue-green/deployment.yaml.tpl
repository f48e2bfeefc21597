apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-${version}
  labels:
    app: demo
    version: ${version}
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  selector:
    matchLabels:
      app: demo
      version: ${version}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: demo
        version: ${version}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: demo
          image: bebullish/demo:${version}
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
